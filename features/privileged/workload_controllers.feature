@privileged @shared_cluster @check_privileged_003 @needs_plan_forbidding_host_namespaces
Feature: A workload whose pods the plan forbids runs no pod
  As a platform operator
  I want the plan's pod rules to hold for pods that controllers create, not only for pods tenants create
  So that a Deployment is no way around the plan

  Scenario: A Deployment with a forbidden pod is accepted with a warning and never gets a pod
    Given the provisioned tenancy of the product under test
    When each tenant admin whose plan forbids host namespaces creates a Deployment whose pod uses one
    Then each Deployment was accepted with a pod-security warning
    And each Deployment's ReplicaSet recorded that it failed to create the pod
    And no pod of those Deployments exists

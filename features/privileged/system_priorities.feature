@privileged @shared_cluster @dedicated_cluster @check_privileged_008
Feature: A tenant cannot run pods at the cluster's system-critical priorities
  As a platform operator sharing nodes between tenants
  I want the system-critical priority classes kept for the cluster's own components
  So that no tenant's pod preempts other tenants' pods or the cluster's DNS and network

  Scenario: A pod of a system-critical priority class is refused in every tenant namespace
    Given the provisioned tenancy of the product under test
    When each tenant admin creates a pod of each system-critical priority class
    Then every such pod is refused, while the same pod without a class is admitted

@privileged @shared_cluster @check_privileged_004
Feature: A tenant cannot weaken its own fences
  As a platform operator
  I want a tenant admin unable to lower its namespace's pod-security level or to create namespaces
  So that the plan's rules cannot be switched off by the tenant they bind

  Scenario: Relabelling the namespace and creating a namespace are denied, ordinary work is not
    Given the provisioned tenancy of the product under test
    When each tenant admin on a shared cluster tries to change its fences
    Then the observed access is exactly:
      | action                               | access  |
      | create a configmap in its namespace  | allowed |
      | relabel its namespace to privileged  | denied  |
      | create a namespace                   | denied  |

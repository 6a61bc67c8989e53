@privileged @shared_cluster @check_privileged_001
Feature: A shared cluster's tenants get exactly the privileges their plan allows
  As a platform operator selling plans on a shared cluster
  I want every pod that asks for more than its tenant's plan allows to be rejected at admission
  So that no customer escapes onto the node that other customers' workloads share

  Scenario: Each privilege is rejected or runs with effect, as the tenant's plan says
    Given the provisioned tenancy of the product under test
    When each tenant admin on a shared cluster asks for every privilege
    Then every privilege gets the verdict its plan implies, with the layer that decided

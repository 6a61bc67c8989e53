@storage @shared_cluster @check_storage_005 @needs_plan_storage_quotas
Feature: A plan's storage quota is enforced
  As a platform operator
  I want each tenant's claims held to the storage quota of its plan
  So that no customer can take the storage other customers pay for

  Scenario: Claims within the plan's quota are admitted and the first beyond it is refused
    Given the provisioned tenancy of the product under test
    When every tenant on a shared cluster whose plan has a storage quota claims up to it and beyond
    Then the observed claims are exactly:
      | claim                            | access  |
      | a claim within the storage quota | allowed |
      | a claim beyond the storage quota | denied  |
      | claims up to the claim count     | allowed |
      | one claim beyond the claim count | denied  |

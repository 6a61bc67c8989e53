@rbac @dedicated_cluster @check_rbac_006
Feature: A tenant's credentials open its own cluster only
  As a customer with a dedicated cluster
  I want no other tenant's credentials to be accepted by my cluster, and mine by no other
  So that a cluster of my own is closed to everybody else's users

  Scenario: Every identity is authenticated on its own cluster and refused by every other
    Given the provisioned tenancy of the product under test
    When every tenant identity presents its credentials to every cluster of the product
    Then each identity is authenticated on its own cluster only

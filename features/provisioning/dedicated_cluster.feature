@provisioning @dedicated_cluster @check_provisioning_002
Feature: A dedicated tenant gets a cluster of its own
  As a platform operator
  I want a dedicated tenant's workloads on a cluster no other tenant shares
  So that customers who pay for it get isolation by construction

  Scenario: Dedicated tenants are alone on their cluster
    Given the provisioned tenancy of the product under test
    When the clusters of the tenancy are listed
    Then every dedicated tenant is the only tenant on its cluster
    And no two tenants of different placements share a cluster

@provisioning @shared_cluster @dedicated_cluster @check_provisioning_003 @needs_mixed_tenancy
Feature: Shared and dedicated tenants of one product live side by side
  As a platform operator
  I want to sell shared and dedicated clusters from the same product
  So that each customer's workloads are exactly where their contract puts them

  Scenario: Every tenant's namespace exists on its own cluster and on no other
    Given the provisioned tenancy of the product under test
    When the tenant namespaces on every cluster of the product are listed as the cluster admin
    Then the tenant namespaces on each cluster are exactly its tenants' namespaces
    And the shared tenants share one cluster and every dedicated tenant has one of its own

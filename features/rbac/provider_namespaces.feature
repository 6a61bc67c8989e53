@rbac @shared_cluster @check_rbac_007 @needs_two_tenants_on_a_cluster
Feature: Tenant identities can do nothing in the provider's namespaces, nor across all namespaces
  As a platform operator
  I want my customers to stay out of kube-system, kube-public, kube-node-lease, default and my product's own namespaces
  So that no customer reads the provider's secrets, runs code in its pods or lists every customer's objects at once

  Scenario: No tenant identity can read or change anything outside the tenants' namespaces
    Given the provisioned tenancy of the product under test
    When every tenant identity on a shared cluster asks for every verb on every resource the API serves
    Then in every namespace of no tenant, and across all namespaces at once, only the reads the product documents as public are allowed, while each identity can work in its own namespace

@rbac @shared_cluster @check_rbac_002 @needs_two_tenants_on_a_cluster
Feature: A tenant's identities cannot touch another tenant's namespace
  As a customer of a shared cluster
  I want nobody from another tenant to read or change anything in my namespace, and mine not in theirs
  So that a shared cluster is as private as a cluster of my own

  Scenario: Every namespaced resource, every verb, both directions, as the model requires
    Given the provisioned tenancy of the product under test
    When every tenant identity on a shared cluster asks for every verb on every resource the API serves
    Then the observed access in the tenant namespaces is exactly what the tenancy model requires

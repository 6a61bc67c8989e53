@rbac @shared_cluster @check_rbac_005 @needs_two_tenants_on_a_cluster
Feature: Every access answer is the same whichever way it is asked
  As a platform operator
  I want a tenant's real requests, its own access reviews and the admin's reviews about it to agree
  So that the access tools my operators and customers use tell the truth about the boundary

  Scenario: Real requests, self reviews and subject reviews agree on the whole matrix
    Given the provisioned tenancy of the product under test
    When every tenant identity on a shared cluster asks for every verb on every resource the API serves
    Then the ways of observing that can answer agree on every cell

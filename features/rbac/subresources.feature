@rbac @shared_cluster @check_rbac_008 @needs_two_tenants_on_a_cluster
Feature: Every subresource the API serves obeys the tenancy boundary
  As a platform operator
  I want exec, attach, port-forward, proxy, status, finalize, scale, eviction, tokens and ephemeral containers to follow the same fences as the objects they belong to
  So that no tenant reaches another tenant's pods, or the provider's, through a side door of the API

  Scenario: Every verb on every subresource, in every namespace and cluster-wide, as the model requires
    Given the provisioned tenancy of the product under test
    When every tenant identity on a shared cluster asks for every verb on every resource the API serves
    Then the observed access to every subresource is exactly what the tenancy model requires, while each identity can work in its own namespace

@rbac @shared_cluster @check_rbac_010 @needs_two_tenants_on_a_cluster
Feature: A tenant's workloads have no rights beyond what the tenant gave them
  As a customer of a shared cluster
  I want my service accounts to hold exactly what I granted them, and nobody else's service accounts anything in my namespace
  So that a provider add-on or default grant never turns every tenant's workloads into readers of everybody's data

  Scenario: The default service account and one the tenant bound to view, asked with tokens the tenant requested
    Given the provisioned tenancy of the product under test
    When the default service account and one its admin bound to view, of every tenant on a shared cluster, ask with tokens their tenant requested for every verb on every resource in every namespace and cluster-wide, and to relabel their namespace
    Then each service account can do exactly what its tenant granted it in its own namespace and nothing elsewhere, the three ways agreeing

@rbac @shared_cluster @check_rbac_001 @needs_two_tenants_on_a_cluster
Feature: Tenant identities have no cluster-scoped access
  As a platform operator
  I want my customers' admins, developers and viewers to stay out of everything cluster-wide
  So that no customer can change nodes, storage, extensions, webhooks or other customers' namespaces

  Scenario: No tenant identity can use any cluster-scoped resource
    Given the provisioned tenancy of the product under test
    When every tenant identity on a shared cluster asks for every verb on every resource the API serves
    Then every cluster-scoped request is denied while each identity can work in its own namespace

  Scenario: A tenant cannot relabel or delete its own namespace
    Given the provisioned tenancy of the product under test
    When every tenant identity on a shared cluster tries to:
      | attempt                                     | action |
      | its namespace's pod-security labels         | change |
      | its namespace                               | delete |
    Then every attempt is denied

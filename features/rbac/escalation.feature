@rbac @shared_cluster @check_rbac_003 @needs_two_tenants_on_a_cluster
Feature: Tenant identities cannot escalate their privileges
  As a platform operator
  I want no tenant identity to gain rights beyond the ones its role gives it
  So that a tenant admin stays a tenant admin, whatever it tries

  Scenario: Binding, escalating, impersonating, minting tokens, approving, proxying and exec are denied
    Given the provisioned tenancy of the product under test
    When every tenant identity on a shared cluster tries to:
      | attempt                                           |
      | bind cluster-admin in its namespace               |
      | bind cluster-admin cluster-wide                   |
      | escalate a role beyond its own                    |
      | impersonate another tenant's admin                |
      | impersonate the system:masters group              |
      | act as another tenant's service account           |
      | impersonate another tenant admin's uid            |
      | impersonate a user extra                          |
      | mint a token for another tenant's service account |
      | approve certificate signing requests              |
      | proxy to a node's kubelet                         |
      | exec into another tenant's pod                    |
    Then every attempt is denied

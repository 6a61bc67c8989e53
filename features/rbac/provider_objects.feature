@rbac @shared_cluster @check_rbac_004 @needs_two_tenants_on_a_cluster
Feature: What the provider set up stays as set up, and tenants manage their own roles
  As a platform operator
  I want the bindings, network policies and quotas my onboarding made to be out of the tenants' reach
  So that a tenant cannot lift its own fences, while its admin still delegates inside its namespace

  Scenario: A tenant cannot change or delete what the provider's onboarding made (level 1)
    Given the provisioned tenancy of the product under test
    When every tenant identity on a shared cluster tries to:
      | attempt                          | action |
      | the provider's role bindings     | change |
      | the provider's role bindings     | delete |
      | the provider's network policies  | change |
      | the provider's network policies  | delete |
      | the provider's resource quota    | change |
      | the provider's resource quota    | delete |
      | the provider's limit range       | change |
      | the provider's limit range       | delete |
    Then every attempt is denied

  Scenario: A tenant admin grants its developers a role inside its namespace (level 2)
    Given the provisioned tenancy of the product under test
    When a tenant admin grants its developers "list" on "rolebindings" with a role of its own
    Then its developers can "list" "rolebindings" in their namespace, and could not before

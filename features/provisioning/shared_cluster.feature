@provisioning @shared_cluster @check_provisioning_001
Feature: Tenants are onboarded onto a shared cluster the way a provider would do it
  As a platform operator
  I want every tenant of a shared cluster to get its own fenced namespace
  So that customers start from isolation, not from an open cluster

  What a plan implies comes from the model of the plan: a namespace, default-deny, allow-same-tenant and
  allow-DNS policies for every tenant; allow-control-plane where the plan allows control-plane egress;
  a ResourceQuota where the plan sets quotas; a LimitRange where it sets default requests or limits.

  Scenario: Each tenant's namespace carries its plan's fences
    Given the provisioned tenancy of the product under test
    When the onboarding objects of every shared tenant are read back as the cluster admin
    Then every shared tenant has exactly the onboarding objects its plan implies
    And every shared tenant's namespace enforces its plan's pod-security level
    And on clusters authorized by RBAC every shared tenant has bindings for its admins, developers and viewers

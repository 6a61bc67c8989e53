@provisioning @shared_cluster @check_prov_001
Feature: Tenants are onboarded onto a shared cluster the way a provider would do it
  As a platform operator
  I want every tenant of a shared cluster to get its own fenced namespace
  So that customers start from isolation, not from an open cluster

  Scenario: Each tenant's namespace carries its plan's fences
    Given the provisioned tenancy of the product under test
    When the onboarding objects of every shared tenant are read back as the cluster admin
    Then every shared tenant has exactly these onboarding objects:
      | kind          | name                | when                                |
      | Namespace     | tenant-{tenant}     | always                              |
      | NetworkPolicy | default-deny        | always                              |
      | NetworkPolicy | allow-same-tenant   | always                              |
      | NetworkPolicy | allow-dns           | always                              |
      | NetworkPolicy | allow-control-plane | its plan allows control-plane egress |
      | ResourceQuota | tenant-quota        | always                              |
      | LimitRange    | tenant-limits       | always                              |
    And every shared tenant's namespace enforces its plan's pod-security level
    And on clusters authorized by RBAC every shared tenant has bindings for its admins, developers and viewers

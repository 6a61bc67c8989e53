@network @shared_cluster @check_network_007 @needs_two_tenants_on_a_cluster
Feature: Tenant pods reach the cluster's machinery only as their plan allows
  As a platform operator
  I want tenant pods kept away from node agents, and from the API server unless their plan includes it
  So that a compromised pod cannot attack the cluster itself

  Scenario: Egress to the API server follows the plan, egress to kubelets is closed
    Given the provisioned tenancy of the product under test
    And probe pods in every tenant
    When every probe pod on a shared cluster tries the API server and every node's kubelet
    Then the observed reachability is exactly:
      | from  | to               | tcp              |
      | a pod | the API server   | as its plan says |
      | a pod | a node's kubelet | denied           |

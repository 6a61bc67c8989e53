@network @dedicated_cluster @check_network_002 @needs_two_clusters
Feature: A dedicated cluster's pods are out of other tenants' reach
  As a customer with a dedicated cluster
  I want no pod of any other tenant to reach my cluster's pods or nodes
  So that my cluster is as isolated as I pay for

  Scenario: Pods of other clusters cannot reach a dedicated tenant's pods or nodes
    Given the provisioned tenancy of the product under test
    And probe pods in every tenant
    When every probe pod tries the pods and the node addresses of every other cluster
    Then the observed reachability is exactly:
      | from  | to            | tcp    | udp    |
      | a pod | other cluster | denied | denied |

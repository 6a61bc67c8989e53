@network @shared_cluster @check_network_006 @needs_two_tenants_on_a_cluster @needs_node_port_allowed
Feature: From outside the cluster only what a tenant exposes is reachable
  As a customer of a shared cluster
  I want clients outside the cluster to reach the service I expose and nothing else
  So that my pods and other tenants' pods are never published by accident

  Scenario: Outside clients reach an exposed node port, and no pod or service address
    Given the provisioned tenancy of the product under test
    And probe pods in every tenant
    And a service in front of every tenant's pods
    When a client outside the cluster tries every node's exposed port, every pod and every service address
    Then the observed reachability is exactly:
      | from    | to                   | tcp     |
      | outside | an exposed node port | allowed |
      | outside | a pod                | denied  |
      | outside | a service address    | denied  |

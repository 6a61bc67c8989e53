@network @shared_cluster @check_network_001 @needs_two_tenants_on_a_cluster
Feature: Tenants on a shared cluster cannot reach each other's pods
  As a customer of a shared cluster
  I want my pods unreachable from other customers' pods, and theirs from mine
  So that another tenant's compromised workload cannot touch mine over the network

  Scenario: Pod-to-pod traffic stays inside each tenant, over TCP and UDP, in both directions
    Given the provisioned tenancy of the product under test
    And probe pods in every tenant
    When every probe pod on a shared cluster tries every probe port of every pod on that cluster
    Then the observed reachability is exactly:
      | from  | to             | tcp     | udp     |
      | a pod | its own tenant | allowed | allowed |
      | a pod | another tenant | denied  | denied  |

  Scenario: The ports onboarding opens for egress (DNS, the API server) lead to no other tenant's pods
    Given the provisioned tenancy of the product under test
    And probe pods in every tenant
    And every tenant admits anyone to its pods on the ports its onboarding opens for egress
    When every probe pod on a shared cluster tries those ports on every pod on that cluster
    Then the observed reachability is exactly:
      | from  | to             | tcp     | udp     |
      | a pod | its own tenant | allowed | allowed |
      | a pod | another tenant | denied  | denied  |

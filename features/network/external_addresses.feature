@network @shared_cluster @check_network_008 @needs_two_tenants_on_a_cluster
Feature: A tenant cannot take over addresses it does not own
  As a customer of a shared cluster
  I want no other tenant to claim an address my pods send to (CVE-2020-8554)
  So that my traffic to an outside service or the cluster DNS cannot be captured by another tenant's pods

  Scenario: Services' external addresses and load-balancer status stay the provider's, and capture nothing
    Given the provisioned tenancy of the product under test
    And probe pods in every tenant
    When the first tenant admits anyone to its pods "a" on port 53 and claims an external address and a load-balancer status for them
    And every probe pod on a shared cluster tries the claimed addresses and the claiming pods on port 53
    Then the observed reachability is exactly:
      | from  | to             | tcp     | udp     |
      | a pod | its own tenant | allowed | allowed |
      | a pod | another tenant | denied  | denied  |
    And the API server creates the first tenant's Service and refuses it every address it does not own

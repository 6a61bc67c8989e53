@network @shared_cluster @dedicated_cluster @check_network_005
Feature: Service discovery works inside a locked-down tenant
  As a customer
  I want my pods to find my own services by name although everything else is closed
  So that isolation does not break how my applications find each other

  Scenario: A tenant's pods reach its own service by its DNS name, over TCP and UDP
    Given the provisioned tenancy of the product under test
    And probe pods in every tenant
    And a service in front of every tenant's pods
    When every probe pod connects to its own tenant's service by name
    Then the observed reachability is exactly:
      | from  | to             | tcp     | udp     |
      | a pod | its own tenant | allowed | allowed |

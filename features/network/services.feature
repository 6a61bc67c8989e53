@network @shared_cluster @check_network_004 @needs_two_tenants_on_a_cluster
Feature: Tenants cannot reach each other's services
  As a customer of a shared cluster
  I want my services' cluster addresses closed to other customers
  So that publishing a service inside the cluster does not publish it to every tenant

  Scenario: Service addresses answer their own tenant only, over TCP and UDP
    Given the provisioned tenancy of the product under test
    And probe pods in every tenant
    And a service in front of every tenant's pods
    When every probe pod on a shared cluster tries the service address of every tenant on that cluster
    Then the observed reachability is exactly:
      | from  | to             | tcp     | udp     |
      | a pod | its own tenant | allowed | allowed |
      | a pod | another tenant | denied  | denied  |

@network @shared_cluster @check_network_003 @needs_two_tenants_on_a_cluster
Feature: A tenant's own policies open exactly the flow they name
  As a customer of a shared cluster
  I want to share one service with one other tenant by writing my own NetworkPolicies
  So that I can cooperate with another customer without opening my whole namespace

  Scenario: Two tenants open one flow between them and nothing else opens
    Given the provisioned tenancy of the product under test
    And probe pods in every tenant
    When the first tenant admits the second tenant's pods "a" to its pods "b" on TCP port 8080
    And every probe pod on a shared cluster tries every probe port of every pod on that cluster
    Then the observed reachability is exactly what the policies in force allow

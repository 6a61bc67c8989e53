@network @shared_cluster @check_network_009 @needs_two_tenants_on_a_cluster
Feature: Isolation holds while the tenancy changes
  As a customer of a shared cluster
  I want every change to pods, labels and policies enforced promptly, and no stale rule left behind
  So that a relabelled pod or a withdrawn policy never leaves a flow open that the policies no longer allow

  Scenario: Policies added and removed, a namespace and a pod relabelled: each enforced within the product's deadline
    Given the provisioned tenancy of the product under test
    And probe pods in every tenant
    When the tenants change their pods, labels and policies one at a time, with every probe pod on a shared cluster trying every probe port of every pod on that cluster after each change
    Then after each change the observed reachability is what the policies in force allow within the product's deadline

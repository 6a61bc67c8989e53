@network @shared_cluster @check_network_011 @needs_two_tenants_on_a_cluster
Feature: What a tenant learns about other tenants through cluster DNS is what its plan says
  As a customer of a shared cluster
  I want to know whether other tenants can learn my services' and pods' names and addresses from the cluster DNS
  So that I do not put in a name what the provider's DNS tells every other tenant

  Scenario: Every pod looks up every tenant's service and pod names
    Given the provisioned tenancy of the product under test
    And probe pods in every tenant
    And a service in front of every tenant's pods
    When every probe pod on a shared cluster looks up the names of every tenant's services and pods
    Then every tenant resolves its own names, and other tenants' names as its plan says

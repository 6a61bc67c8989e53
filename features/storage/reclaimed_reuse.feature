@storage @shared_cluster @check_storage_007 @needs_two_tenants_on_a_cluster
Feature: Another tenant's new claim never receives a deleted claim's volume or data
  As a customer of a shared cluster
  I want the claim I make after another customer deleted theirs to get a volume of its own, empty
  So that I never receive, nor can be blamed for holding, another customer's data

  Scenario: After a claim is deleted and its volume reclaimed a new tenant's volume is different and empty
    Given the provisioned tenancy of the product under test
    And a tenant on a shared cluster whose pod wrote a secret token to its claimed volume
    When the tenant deletes its pods and its claim and its volume is reclaimed
    Then a new claim of another tenant on that cluster gets a different, empty volume

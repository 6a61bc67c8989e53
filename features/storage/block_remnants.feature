@storage @shared_cluster @check_storage_006 @needs_two_tenants_on_a_cluster
Feature: A deleted Block volume's bytes never reach the next tenant
  As a customer of a shared cluster
  I want the raw device of my deleted Block claim cleared before anyone else gets it
  So that no later customer reads my data off the device, whatever filesystem it formats

  Scenario: A new Block claim of another tenant does not read the deleted claim's marker off its raw device
    Given the provisioned tenancy of the product under test
    And a tenant on a shared cluster whose pod wrote a marker to the raw device of its Block claim
    When the tenant deletes its pods and its Block claim and its volume is reclaimed
    Then a new Block claim of another tenant on that cluster reads no byte of the marker off its raw device

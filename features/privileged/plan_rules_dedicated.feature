@privileged @dedicated_cluster @check_privileged_002
Feature: A dedicated tenant's privileged plan really runs privileged pods
  As a customer on a plan that allows privileged containers
  I want my privileged pods admitted and running with the privileges they ask for
  So that I get the node-level access my plan is sold with, and nothing my plan still forbids

  Scenario: Each privilege is rejected or runs with effect, as the dedicated tenant's plan says
    Given the provisioned tenancy of the product under test
    When each tenant admin on a dedicated cluster asks for every privilege
    Then every privilege gets the verdict its plan implies, with the layer that decided

@rbac @check_rbac_015 @needs_identity_broker
Feature: A group given or taken at a customer's IdP counts from the user's next token
  As a customer who brings its own IdP through the provider's identity broker
  I want a user I put in my developers' groups to get their access, and to lose it when I take it out
  So that my IdP, not the broker or the cluster, decides who works in my namespace

  Scenario: Through federation, a group given at the customer's IdP gives access and taking it away takes it
    Given the provisioned tenancy of the product under test
    When the customer's IdP gives a user of no group its developers' groups and then takes them away
    Then the user's next token after each change has the access the IdP says, in seconds

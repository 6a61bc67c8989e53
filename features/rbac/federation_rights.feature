@rbac @check_rbac_013 @needs_identity_broker
Feature: A customer's brokered user gets exactly the rights of its groups
  As a customer who brings its own IdP through the provider's identity broker
  I want a user my IdP puts in my developers' groups to work as my developers do, in my namespace only
  So that the broker neither widens nor narrows what my groups may do, and opens no other customer's namespace

  Scenario: Through federation, a developer of the customer's IdP holds exactly the developer identity's rights
    Given the provisioned tenancy of the product under test
    When a user of each customer's IdP in its developers' groups asks the cluster what it may do in every tenant namespace
    Then it holds exactly the rules of the customer's developer identity in each of them

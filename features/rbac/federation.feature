@rbac @check_rbac_012 @needs_identity_broker
Feature: A customer's own IdP names groups of that customer only
  As a customer who brings its own IdP through the provider's identity broker
  I want every group my IdP names to land among my own groups on the cluster
  So that no other customer's IdP can name its users into my groups, the provider's or the cluster's

  Scenario: Through federation, group names crafted like somebody else's stay inside the customer's own groups
    Given the provisioned tenancy of the product under test
    When each customer's IdP names a user in groups crafted like other customers', the provider's and system: groups
    Then the cluster puts each such user in its own customer's groups only

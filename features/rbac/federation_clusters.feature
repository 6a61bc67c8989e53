@rbac @dedicated_cluster @check_rbac_014 @needs_identity_broker @needs_two_clusters
Feature: A token from one customer's IdP opens no other customer's cluster
  As a customer with a dedicated cluster and my own IdP behind the provider's identity broker
  I want my cluster to refuse the broker's tokens of every other customer, and theirs to refuse mine
  So that one broker for all customers does not make every cluster open to every customer's users

  Scenario: Through federation, each customer's token is accepted by its own cluster and refused by every other
    Given the provisioned tenancy of the product under test
    When a user of each customer's IdP presents its token from the broker to every cluster of the product
    Then each token is accepted by its own customer's cluster only

@privileged @shared_cluster @check_privileged_006 @needs_two_tenants_on_a_cluster @needs_private_registry
Feature: A tenant cannot run another tenant's private image from a shared node's cache
  As a customer keeping my images in a private registry repository
  I want other customers' pods refused my image even on a node that already holds it
  So that sharing nodes does not share what only my pull secret may read

  Scenario: Another tenant's pods without credentials cannot start a private image cached on their node
    Given the provisioned tenancy of the product under test
    When a tenant admin on a shared cluster runs its private image and another tenant's admin starts it on the same node
    Then the other tenant's pods are refused, once the owner's pod ran

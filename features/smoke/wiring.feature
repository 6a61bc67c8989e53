@smoke @check_smoke_001
Feature: The suite's wiring works
  As a maintainer of the suite
  I want one scenario that goes through every part of the wiring
  So that a broken set-up shows before any real check runs

  Scenario: Every tenant is on a plan its product offers
    Given the tenancy of the product under test
    When the plans of the tenants are looked up in the product's catalog
    Then every plan found has one of these pod-security levels:
      | pod_security |
      | privileged   |
      | baseline     |
      | restricted   |

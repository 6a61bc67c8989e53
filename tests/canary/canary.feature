Feature: Secrets the suite handles never reach an artifact
  As a platform operator who shares the suite's reports
  I want every token, key, kubeconfig and password redacted wherever the suite writes
  So that a report can be handed to anyone

  Scenario: Canary secrets pass through every place that handles credentials
    Given the canary secrets
    When the suite handles them as credentials
    And the suite logs, prints and attaches them
    Then the scenario fails with a message that names them

@rbac @shared_cluster @check_rbac_009 @needs_two_tenants_on_a_cluster
Feature: Exec, attach and port-forward open only into the tenant's own pods, whatever the transport
  As a customer of a shared cluster
  I want nobody from another tenant to open a shell, attach or forward a port into my pods, whichever protocol their kubectl speaks
  So that a grant that looks read-only (get on pods/exec) never becomes a shell in my pods

  Scenario: Streams into a pod of every tenant, over WebSocket and over SPDY, as the model requires
    Given the provisioned tenancy of the product under test
    When every tenant identity on a shared cluster opens exec, attach and port-forward streams into a pod of every tenant, over WebSocket and over SPDY
    Then the streams that open are exactly the ones the tenancy model allows, and each tenant's admins open theirs in their own namespace

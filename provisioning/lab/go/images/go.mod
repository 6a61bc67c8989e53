// Programs of the lab's own images: the pod sandbox's pause and the network probe.
module caas-conformance.local/lab/images

go 1.24.0

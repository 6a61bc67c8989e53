"""`caas run --on-cluster`: what a product's Job in a management cluster is made of.

bundle: what a product's Job reads (its targets and files, one Secret); manifests: the Namespace,
Secrets and Job; runner_image: the image it runs in; version: the suite's version an image holds. What
the Job runs and how its results join the local run folder is harness/oncluster.
"""

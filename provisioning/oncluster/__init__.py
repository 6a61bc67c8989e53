"""`caas run --on-cluster`: the suite run as one Kubernetes Job per product in a management cluster.

bundle: what a product's Job reads (its targets and files, one Secret); manifests: the Namespace,
Secret and Job; results: the run folder a Job prints to its log and how it joins the local one;
entry: what the Job's container runs; runner_image: the image it runs in.
"""

"""The run side of `caas run --on-cluster` (harness/cli/on_cluster.py starts it).

entry: what a Job's container runs (the version check, the checks' pytest, its run folder printed);
results: the run folder a Job prints to its log and how it joins the local one. What a Job is made of
(its image, its manifests, the Secret data) is provisioning/oncluster.
"""

// pss: the upstream PodSecurity policy (k8s.io/pod-security-admission, the code the API server's
// PodSecurity admission runs) applied to pods given on stdin, for the suite's unit test of its
// one-control-per-case pods (provisioning/model/privileges.py).
//
// Input: a JSON object {"<case>": <Pod manifest>, ...}. Output: a JSON object
// {"<case>": {"failing": [<check ID>, ...], "baseline": <allowed>, "restricted": <allowed>}}, where
// "failing" lists every check (of both levels, as each check stands at the pinned version) the pod
// fails, and "baseline"/"restricted" are the evaluator's verdicts at that level and version.
// Usage: go run ./pss [-version v1.34] < pods.json (from provisioning/lab/go/kube, whose module pins
// k8s.io/pod-security-admission v0.34.4, the lab API server's own).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

type verdict struct {
	Failing    []string `json:"failing"`
	Baseline   bool     `json:"baseline"`
	Restricted bool     `json:"restricted"`
}

// at is the check as it stands at version v (its newest version not newer than v), or nil.
func at(check policy.Check, v api.Version) policy.CheckPodFn {
	var fn policy.CheckPodFn
	for _, versioned := range check.Versions {
		if !v.Older(versioned.MinimumVersion) {
			fn = versioned.CheckPod
		}
	}
	return fn
}

func allowed(results []policy.CheckResult) bool {
	return policy.AggregateCheckResults(results).Allowed
}

func main() {
	versionFlag := flag.String("version", "v1.34", "the Pod Security Standards version to evaluate")
	flag.Parse()
	version, err := api.ParseVersion(*versionFlag)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pss: error: -version: %v (fix: give vMAJOR.MINOR, e.g. v1.34)\n", err)
		os.Exit(2)
	}
	var pods map[string]corev1.Pod
	if err := json.NewDecoder(os.Stdin).Decode(&pods); err != nil {
		fmt.Fprintf(os.Stderr, "pss: error: stdin: %v (fix: give a JSON object of pod manifests)\n", err)
		os.Exit(2)
	}
	checks := policy.DefaultChecks()
	evaluator, err := policy.NewEvaluator(checks)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pss: error: evaluator: %v\n", err)
		os.Exit(1)
	}
	out := map[string]verdict{}
	for name, pod := range pods {
		failing := []string{}
		for _, check := range checks {
			if fn := at(check, version); fn != nil && !fn(&pod.ObjectMeta, &pod.Spec).Allowed {
				failing = append(failing, string(check.ID))
			}
		}
		sort.Strings(failing)
		out[name] = verdict{
			Failing:    failing,
			Baseline:   allowed(evaluator.EvaluatePod(api.LevelVersion{Level: api.LevelBaseline, Version: version}, &pod.ObjectMeta, &pod.Spec)),
			Restricted: allowed(evaluator.EvaluatePod(api.LevelVersion{Level: api.LevelRestricted, Version: version}, &pod.ObjectMeta, &pod.Spec)),
		}
	}
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetIndent("", " ")
	if err := encoder.Encode(out); err != nil {
		fmt.Fprintf(os.Stderr, "pss: error: stdout: %v\n", err)
		os.Exit(1)
	}
}

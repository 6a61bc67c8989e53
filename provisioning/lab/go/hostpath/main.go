// Command hostpath-provisioner provisions the embedded lab's dynamic volumes:
// a Filesystem claim gets a fresh directory under --root, handed out as a
// hostPath PersistentVolume; a Block claim (volumeMode: Block) gets a fresh
// sparse backing file under --root attached to a loop device, handed out as a
// `local` PersistentVolume of that device (the kubelet maps local block
// devices into pods; hostPath has no Block mode). Deleting the volume removes
// the directory, or detaches the device and removes the backing file: the next
// claim never sees the old bytes.
//
// The StorageClass parameter `caas.local/test-double: reuse-unwiped` makes it
// the "careless provisioner" of the suite's lab tests: a deleted Block volume's
// backing file is kept, unwiped, and handed to the next Block claim of such a
// class. No class of the lab's add-ons sets it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

const (
	testDoubleParameter = "caas.local/test-double"
	reuseUnwiped        = "reuse-unwiped"
	backingAnnotation   = "caas-conformance.io/backing-file"
	doubleAnnotation    = "caas-conformance.io/test-double"
	unwipedDir          = "unwiped" // under --root: backing files the test double keeps for reuse
	detachWait          = 30 * time.Second
)

type hostPathProvisioner struct {
	root string
	mu   sync.Mutex // one Block volume at a time: the pool of unwiped files and losetup
}

func (p *hostPathProvisioner) Provision(_ context.Context, options controller.ProvisionOptions) (*v1.PersistentVolume, controller.ProvisioningState, error) {
	if options.PVC.Spec.VolumeMode != nil && *options.PVC.Spec.VolumeMode == v1.PersistentVolumeBlock {
		return p.provisionBlock(options)
	}
	dir := filepath.Join(p.root, options.PVName)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, controller.ProvisioningFinished, fmt.Errorf("create %s: %w", dir, err)
	}
	// World-writable like an empty disk: pods of any user can write, as on a real volume.
	if err := os.Chmod(dir, 0o777); err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	directory := v1.HostPathDirectory
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        options.PVName,
			Annotations: map[string]string{"caas-conformance.io/hostpath": dir},
		},
		Spec: v1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: *options.StorageClass.ReclaimPolicy,
			AccessModes:                   options.PVC.Spec.AccessModes,
			Capacity:                      v1.ResourceList{v1.ResourceStorage: options.PVC.Spec.Resources.Requests[v1.ResourceStorage]},
			PersistentVolumeSource: v1.PersistentVolumeSource{
				HostPath: &v1.HostPathVolumeSource{Path: dir, Type: &directory},
			},
			VolumeMode: options.PVC.Spec.VolumeMode,
		},
	}
	return pv, controller.ProvisioningFinished, nil
}

// SupportsBlock tells the controller library this provisioner takes Block claims (controller.BlockProvisioner).
func (p *hostPathProvisioner) SupportsBlock(_ context.Context) bool { return true }

// provisionBlock backs the claim with a sparse file of the requested size on a loop device; the test
// double takes a file a deleted volume of its class left behind, as it was.
func (p *hostPathProvisioner) provisionBlock(options controller.ProvisionOptions) (*v1.PersistentVolume, controller.ProvisioningState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	size := options.PVC.Spec.Resources.Requests[v1.ResourceStorage]
	file := filepath.Join(p.root, options.PVName+".img")
	double := options.StorageClass.Parameters[testDoubleParameter]
	if double != "" && double != reuseUnwiped {
		return nil, controller.ProvisioningFinished, fmt.Errorf("parameter %s: %q is not %q", testDoubleParameter, double, reuseUnwiped)
	}
	reused := false
	if double == reuseUnwiped {
		kept, _ := filepath.Glob(filepath.Join(p.root, unwipedDir, "*.img"))
		if len(kept) > 0 {
			if err := os.Rename(kept[0], file); err != nil {
				return nil, controller.ProvisioningFinished, err
			}
			reused = true
		}
	}
	if !reused {
		f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, controller.ProvisioningFinished, fmt.Errorf("create %s: %w", file, err)
		}
		err = f.Truncate(size.Value())
		f.Close()
		if err != nil {
			return nil, controller.ProvisioningFinished, fmt.Errorf("size %s: %w", file, err)
		}
	}
	out, err := exec.Command("losetup", "--find", "--show", file).CombinedOutput()
	if err != nil {
		return nil, controller.ProvisioningFinished, fmt.Errorf("losetup %s: %v: %s", file, err, out)
	}
	device := strings.TrimSpace(string(out))
	annotations := map[string]string{backingAnnotation: file}
	if double != "" {
		annotations[doubleAnnotation] = double
	}
	block := v1.PersistentVolumeBlock
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: options.PVName, Annotations: annotations},
		Spec: v1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: *options.StorageClass.ReclaimPolicy,
			AccessModes:                   options.PVC.Spec.AccessModes,
			Capacity:                      v1.ResourceList{v1.ResourceStorage: size},
			PersistentVolumeSource: v1.PersistentVolumeSource{
				Local: &v1.LocalVolumeSource{Path: device},
			},
			VolumeMode: &block,
			// All lab nodes share this host's /dev: the device is on every Linux node.
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{
					Key: "kubernetes.io/os", Operator: v1.NodeSelectorOpIn, Values: []string{"linux"},
				}},
			}}}},
		},
	}
	return pv, controller.ProvisioningFinished, nil
}

// deleteBlock detaches the loop device and removes the backing file (the test double keeps it unwiped).
func (p *hostPathProvisioner) deleteBlock(volume *v1.PersistentVolume) error {
	file := volume.Annotations[backingAnnotation]
	if file == "" || filepath.Dir(file) != filepath.Clean(p.root) {
		return &controller.IgnoredError{Reason: fmt.Sprintf("backing file %q is not under %s", file, p.root)}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// The devices still over the file (none on a retried delete). A device still open (the kubelet
	// unmaps it shortly after the pod is gone) is only marked to detach on its last close: wait up to
	// detachWait for that, else fail the delete so that the controller retries it. The file is never
	// removed or handed on under an attached device.
	if _, err := os.Stat(file); err == nil {
		deadline := time.Now().Add(detachWait)
		for {
			devices, err := associated(file)
			if err != nil {
				return err
			}
			if len(devices) == 0 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s still attached to %v after %s (busy; retried)", file, devices, detachWait)
			}
			for _, device := range devices {
				if out, err := exec.Command("losetup", "--detach", device).CombinedOutput(); err != nil {
					return fmt.Errorf("losetup --detach %s: %v: %s", device, err, out)
				}
			}
			time.Sleep(time.Second)
		}
	}
	if volume.Annotations[doubleAnnotation] == reuseUnwiped {
		if err := os.MkdirAll(filepath.Join(p.root, unwipedDir), 0o700); err != nil {
			return err
		}
		return os.Rename(file, filepath.Join(p.root, unwipedDir, filepath.Base(file)))
	}
	if err := os.Remove(file); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// associated lists the loop devices over file (`losetup -j` lines are "/dev/loopN: ...").
func associated(file string) ([]string, error) {
	out, err := exec.Command("losetup", "--associated", file).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("losetup --associated %s: %v: %s", file, err, out)
	}
	var devices []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if device, _, found := strings.Cut(line, ":"); found {
			devices = append(devices, device)
		}
	}
	return devices, nil
}

func (p *hostPathProvisioner) Delete(_ context.Context, volume *v1.PersistentVolume) error {
	if volume.Spec.Local != nil {
		return p.deleteBlock(volume)
	}
	if volume.Spec.HostPath == nil {
		return &controller.IgnoredError{Reason: "not a hostPath volume"}
	}
	dir := volume.Spec.HostPath.Path
	if filepath.Dir(dir) != filepath.Clean(p.root) {
		return &controller.IgnoredError{Reason: fmt.Sprintf("%s is not under %s", dir, p.root)}
	}
	return os.RemoveAll(dir)
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	root := flag.String("root", "", "directory that holds the volumes")
	name := flag.String("name", "caas.local/hostpath", "provisioner name that StorageClasses refer to")
	flag.Parse()
	if *kubeconfig == "" || *root == "" {
		fmt.Fprintln(os.Stderr, "usage: hostpath-provisioner --kubeconfig FILE --root DIR [--name NAME]")
		os.Exit(2)
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		klog.Fatalf("kubeconfig: %v", err)
	}
	client := kubernetes.NewForConfigOrDie(config)
	if err := os.MkdirAll(*root, 0o755); err != nil {
		klog.Fatalf("root: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	pc := controller.NewProvisionController(ctx, client, *name, &hostPathProvisioner{root: *root},
		controller.LeaderElection(false))
	pc.Run(ctx)
}

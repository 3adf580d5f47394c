package main

import (
	"fmt"
	"io"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The API versions of a plain cluster, which helm assumes without one.
var builtinAPIVersions = []string{
	"v1", "admissionregistration.k8s.io/v1", "apiextensions.k8s.io/v1", "apps/v1",
	"authentication.k8s.io/v1", "authorization.k8s.io/v1", "autoscaling/v1", "autoscaling/v2",
	"batch/v1", "certificates.k8s.io/v1", "coordination.k8s.io/v1", "discovery.k8s.io/v1",
	"events.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1", "networking.k8s.io/v1",
	"node.k8s.io/v1", "policy/v1", "rbac.authorization.k8s.io/v1", "scheduling.k8s.io/v1",
	"storage.k8s.io/v1",
}

func run(o *options, out io.Writer) error {
	c, err := loadChart(o.chart)
	if err != nil {
		return err
	}
	values, err := userValues(o)
	if err != nil {
		return err
	}
	caps, err := capabilitiesFor(o)
	if err != nil {
		return err
	}
	top := map[string]interface{}{
		"Values": coalesce(values, c.defaults),
		"Release": map[string]interface{}{
			"Name": o.release, "Namespace": o.namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Chart":        c.meta,
		"Capabilities": caps,
		"Files":        c.files,
	}
	e, err := newEngine(c.templates)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(c.templates))
	for name := range c.templates {
		names = append(names, name)
	}
	sort.Strings(names)

	type manifest struct{ path, text string }
	var manifests []manifest
	base := c.meta.Name + "/templates"
	for _, name := range names {
		if strings.HasPrefix(path.Base(name), "_") {
			continue // partials hold definitions only
		}
		data := make(map[string]interface{}, len(top)+1)
		for k, v := range top {
			data[k] = v
		}
		data["Template"] = map[string]interface{}{"Name": name, "BasePath": base}
		text, err := e.render(name, data)
		if err != nil {
			return err
		}
		if name == base+"/NOTES.txt" {
			continue // helm shows the notes after an install, not among the manifests
		}
		for _, doc := range documentSeparator.Split(strings.TrimSpace(text), -1) {
			if doc = strings.TrimSpace(doc); doc != "" {
				manifests = append(manifests, manifest{strings.TrimPrefix(name, c.meta.Name+"/"), doc})
			}
		}
	}

	selected := manifests
	if len(o.showOnly) > 0 {
		selected = nil
		for _, pattern := range o.showOnly {
			found := false
			for _, m := range manifests {
				if ok, _ := path.Match(filepath.ToSlash(pattern), m.path); ok {
					selected = append(selected, m)
					found = true
				}
			}
			if !found {
				return fmt.Errorf("could not find template %s in chart", pattern)
			}
		}
	}
	for _, m := range selected {
		fmt.Fprintf(out, "---\n# Source: %s/%s\n%s\n", c.meta.Name, m.path, m.text)
	}
	return nil
}

// Helm splits a template's output into documents here, whatever follows the dashes.
var documentSeparator = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

// A Kubernetes version as helm reads it: v1.29, 1.29.3, v1.29.3-gke.1 ...
var kubeVersionPattern = regexp.MustCompile(`^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?([-+].*)?$`)

func capabilitiesFor(o *options) (*capabilities, error) {
	m := kubeVersionPattern.FindStringSubmatch(o.kubeVersion)
	if m == nil {
		return nil, fmt.Errorf("invalid --kube-version %q: expected MAJOR.MINOR[.PATCH]", o.kubeVersion)
	}
	number := func(s string) string {
		n, _ := strconv.ParseUint("0"+s, 10, 64)
		return strconv.FormatUint(n, 10)
	}
	major, minor := number(m[1]), number(m[2])
	versions := append(append(versionSet{}, builtinAPIVersions...), o.apiVersions...)
	return &capabilities{
		KubeVersion: kubeVersion{
			Version: "v" + major + "." + minor + "." + number(m[3]) + m[4],
			Major:   major,
			Minor:   minor,
		},
		APIVersions: versions,
	}, nil
}

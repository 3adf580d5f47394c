// Command helm-template renders a Helm chart as `helm template RELEASE CHART [flags]` does, for
// machines without helm: Go's text/template with sprig's functions and Helm's own (funcs.go),
// built from Debian's packages by the launcher beside this file (run). The chart is read in
// chart.go, values are merged in values.go and the manifests rendered in render.go.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

const usage = `Usage: helm-template [RELEASE] CHART [flags]

Renders the chart directory CHART as "helm template" does.

Flags:
  -f, --values FILE          values merged over the chart's values.yaml (repeatable)
      --set KEY=VALUE        a value, typed as helm types it (repeatable; a=1,b.c[0]=x,d={e,f})
      --set-string KEY=VALUE a value kept as a string (repeatable)
  -n, --namespace NAME       .Release.Namespace (default "default")
  -a, --api-versions G/V     an API version .Capabilities.APIVersions.Has reports (repeatable)
      --kube-version V       .Capabilities.KubeVersion (default ` + defaultKubeVersion + `)
  -s, --show-only PATH       only the manifests of templates matching PATH, e.g. templates/x.yaml
`

// The Kubernetes version helm assumes when it talks to no cluster (helm 3.18's).
const defaultKubeVersion = "v1.33.0"

type options struct {
	release, chart, namespace, kubeVersion string
	valueFiles, apiVersions, showOnly      []string
	sets                                   []setFlag
}

type setFlag struct {
	expr     string
	asString bool
}

var errHelp = errors.New("help")

func main() {
	opts, err := parseArgs(os.Args[1:])
	if err == errHelp {
		fmt.Print(usage)
		return
	}
	if err == nil {
		err = run(opts, os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %s\n", err)
		os.Exit(1)
	}
}

// Every flag takes a value, as "--flag value" or "--flag=value".
var knownFlags = map[string]bool{
	"-f": true, "--values": true, "--set": true, "--set-string": true, "-n": true,
	"--namespace": true, "-a": true, "--api-versions": true, "--kube-version": true, "-s": true,
	"--show-only": true,
}

func parseArgs(args []string) (*options, error) {
	o := &options{namespace: "default", kubeVersion: defaultKubeVersion}
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "-h" || arg == "-help" || arg == "--help" {
			return nil, errHelp
		}
		if !strings.HasPrefix(arg, "-") {
			positional = append(positional, arg)
			continue
		}
		name, value, inline := strings.Cut(arg, "=")
		if !knownFlags[name] {
			return nil, fmt.Errorf("unknown flag: %s (see --help)", name)
		}
		if !inline {
			if i+1 == len(args) {
				return nil, fmt.Errorf("flag needs an argument: %s", name)
			}
			i++
			value = args[i]
		}
		switch name {
		case "-f", "--values":
			o.valueFiles = append(o.valueFiles, strings.Split(value, ",")...)
		case "--set", "--set-string":
			o.sets = append(o.sets, setFlag{value, name == "--set-string"})
		case "-n", "--namespace":
			o.namespace = value
		case "-a", "--api-versions":
			o.apiVersions = append(o.apiVersions, strings.Split(value, ",")...)
		case "--kube-version":
			o.kubeVersion = value
		case "-s", "--show-only":
			o.showOnly = append(o.showOnly, value)
		}
	}
	switch len(positional) {
	case 1:
		o.release, o.chart = "release-name", positional[0]
	case 2:
		o.release, o.chart = positional[0], positional[1]
	default:
		return nil, fmt.Errorf("expected RELEASE CHART, got %d arguments (see --help)", len(positional))
	}
	return o, nil
}

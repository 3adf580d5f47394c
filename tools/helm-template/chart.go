package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	yaml "gopkg.in/yaml.v2"
)

// chartMeta is Chart.yaml under the field names templates use (.Chart.AppVersion, ...).
type chartMeta struct {
	APIVersion   string            `yaml:"apiVersion"`
	Name         string            `yaml:"name"`
	Version      string            `yaml:"version"`
	KubeVersion  string            `yaml:"kubeVersion"`
	Description  string            `yaml:"description"`
	Type         string            `yaml:"type"`
	Keywords     []string          `yaml:"keywords"`
	Home         string            `yaml:"home"`
	Sources      []string          `yaml:"sources"`
	Maintainers  []maintainer      `yaml:"maintainers"`
	Icon         string            `yaml:"icon"`
	AppVersion   string            `yaml:"appVersion"`
	Deprecated   bool              `yaml:"deprecated"`
	Annotations  map[string]string `yaml:"annotations"`
	Dependencies []interface{}     `yaml:"dependencies"`
}

type maintainer struct {
	Name  string `yaml:"name"`
	Email string `yaml:"email"`
	URL   string `yaml:"url"`
}

type chart struct {
	meta      chartMeta
	defaults  map[string]interface{}
	templates map[string]string // by name, e.g. "order-food/templates/deployment.yaml"
	files     files             // everything helm offers as .Files
}

func loadChart(dir string) (*chart, error) {
	metaText, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, fmt.Errorf("%s is not a chart directory: %s", dir, err)
	}
	c := &chart{templates: map[string]string{}, files: files{}}
	if err := yaml.Unmarshal(metaText, &c.meta); err != nil {
		return nil, fmt.Errorf("Chart.yaml: %s", err)
	}
	if c.meta.Name == "" {
		return nil, errors.New("Chart.yaml: name is required")
	}
	if len(c.meta.Dependencies) > 0 {
		return nil, errors.New("Chart.yaml: dependencies (subcharts) are not supported")
	}
	if c.defaults, err = readValues(filepath.Join(dir, "values.yaml")); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	if c.defaults == nil {
		c.defaults = map[string]interface{}{}
	}
	ignore, err := readIgnore(filepath.Join(dir, ".helmignore"))
	if err != nil {
		return nil, err
	}
	err = filepath.WalkDir(dir, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, file)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if ignore.matches(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if rel == "charts" {
				return errors.New("charts/: subcharts are not supported")
			}
			return nil
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(rel, "templates/"):
			c.templates[c.meta.Name+"/"+rel] = string(data)
		case rel == "Chart.yaml", rel == "Chart.lock", rel == "values.yaml", rel == "values.schema.json":
		default:
			c.files[rel] = data
		}
		return nil
	})
	return c, err
}

// ignoreRules are .helmignore's patterns: a pattern with a slash matches the path from the chart
// root, one without matches any file or folder name; a trailing slash matches folders only, a
// leading "!" takes a path back in. Hidden files in templates/ are always left out, as helm does.
type ignoreRules []string

func readIgnore(file string) (ignoreRules, error) {
	rules := ignoreRules{"templates/.?*"}
	text, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return rules, nil
	}
	for _, line := range strings.Split(string(text), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			rules = append(rules, line)
		}
	}
	return rules, err
}

func (rules ignoreRules) matches(rel string, dir bool) bool {
	ignored := false
	for _, rule := range rules {
		negate := strings.HasPrefix(rule, "!")
		rule = strings.TrimPrefix(rule, "!")
		if strings.HasSuffix(rule, "/") {
			if !dir {
				continue
			}
			rule = strings.TrimSuffix(rule, "/")
		}
		target := path.Base(rel)
		if strings.Contains(rule, "/") {
			rule, target = strings.TrimPrefix(rule, "/"), rel
		}
		if ok, _ := path.Match(rule, target); ok {
			ignored = !negate
		}
	}
	return ignored
}

package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// examples are the Examples sections of --help and the man pages, by command path. A
// command that sets its own Example keeps it.
var examples = map[string]string{
	"cairn": `  export CAIRN_REPO=s3:s3.amazonaws.com/my-bucket/web1 CAIRN_PASSWORD_FILE=/root/.cairn-pw
  cairn init
  cairn backup /etc /home
  cairn snapshots
  cairn restore latest --target /tmp/restore`,
	"cairn init": `  cairn init --repo /srv/backup
  cairn init --repo s3:minio.example.org:9000/backups/web1
  CAIRN_REPO=s3:my-bucket/web1 cairn init --pack-size 32`,
	"cairn backup": `  cairn backup /etc /home
  cairn backup --exclude '*.tmp' --exclude-caches --one-file-system /home
  cairn backup --files-from /etc/cairn/paths --tag nightly
  cairn backup --json --quiet /srv | tail -n 1`,
	"cairn restore": `  cairn restore latest --target /tmp/restore
  cairn restore 1f2e3d4c:/home/ann/notes --target /tmp/notes
  cairn restore latest --target / --include /etc/nginx --overwrite always`,
	"cairn snapshots": `  cairn snapshots
  cairn snapshots --latest 1 --group-by host
  cairn snapshots --json`,
	"cairn tag":            "  cairn tag latest --add keep\n  cairn tag 1f2e3d4c --set monthly,keep",
	"cairn forget":         "  cairn forget --keep-daily 7 --keep-weekly 4 --keep-monthly 12\n  cairn forget --keep-last 10 --dry-run\n  cairn forget 1f2e3d4c",
	"cairn ls":             "  cairn ls latest\n  cairn ls --long latest /home/ann",
	"cairn diff":           "  cairn diff 1f2e3d4c latest",
	"cairn stats":          "  cairn stats\n  cairn stats --json",
	"cairn verify":         "  cairn verify\n  cairn verify --read-data-subset 1/30\n  cairn verify --against /home latest",
	"cairn proof":          "  cairn proof latest /etc/hosts > hosts.proof.json",
	"cairn repair markers": "  cairn repair markers --dry-run\n  cairn repair markers",
	"cairn repair":         "  cairn repair index\n  cairn repair snapshots --dry-run",
	"cairn help":           "  cairn help backup\n  cairn backup --help",
	"cairn version":        "  cairn version\n  cairn version --json",
	"cairn job":            "  cairn job check nightly\n  cairn job run nightly\n  cairn job schedule nightly --at 02:30",
	"cairn job run":        "  cairn job run nightly\n  cairn job run nightly --wait --json\n  cairn job --config /etc/cairn/profiles.toml run nightly",
	"cairn job check":      "  cairn job check nightly\n  cairn job --config ./profiles.toml check nightly",
	"cairn job status":     "  cairn job status\n  cairn job status nightly --last 30\n  cairn job status --json",
	"cairn job schedule":   "  cairn job schedule nightly --at 02:30\n  cairn job schedule nightly --at 02:30 --cron --dry-run\n  cairn job schedule nightly --remove",
	"cairn key":            "  cairn key list\n  cairn key add --new-password-file /root/.cairn-pw2",
	"cairn key list":       "  cairn key list\n  cairn key list --json",
	"cairn key add": `  cairn key add --new-password-file /root/.cairn-pw2
  CAIRN_NEW_PASSWORD=… cairn key add`,
	"cairn key passwd":       "  cairn key passwd --new-password-file /root/.cairn-pw-new",
	"cairn key remove":       "  cairn key remove 3a4b5c6d",
	"cairn forget-pin":       "  cairn forget-pin --repo s3:my-bucket/web1",
	"cairn verify-proof":     "  cairn verify-proof hosts.proof.json\n  cairn verify-proof --root 9e8d7c6b… - < hosts.proof.json",
	"cairn repair index":     "  cairn repair index\n  cairn repair index --dry-run",
	"cairn repair snapshots": "  cairn repair snapshots --dry-run\n  cairn repair snapshots",
	"cairn completion": `  cairn completion bash > /etc/bash_completion.d/cairn
  cairn completion zsh > "${fpath[1]}/_cairn"
  cairn completion fish > ~/.config/fish/completions/cairn.fish`,
	"cairn completion bash":       "  cairn completion bash > /etc/bash_completion.d/cairn\n  source <(cairn completion bash)",
	"cairn completion zsh":        "  cairn completion zsh > \"${fpath[1]}/_cairn\"",
	"cairn completion fish":       "  cairn completion fish > ~/.config/fish/completions/cairn.fish",
	"cairn completion powershell": "  cairn completion powershell | Out-String | Invoke-Expression",
}

// addExamples gives every command without one its Examples section.
func addExamples(c *cobra.Command) {
	if c.Example == "" {
		c.Example = strings.TrimRight(examples[c.CommandPath()], "\n")
	}
	for _, sub := range c.Commands() {
		addExamples(sub)
	}
}

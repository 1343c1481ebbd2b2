package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "cairn",
		Short: "Incremental, encrypted, deduplicating backups to a directory or S3",
		Long: `cairn backs up file trees into an encrypted repository, in a local directory or
an S3 bucket, uploading only what changed since the last snapshot.

The repository comes from --repo or CAIRN_REPO; the password from --password-file,
CAIRN_PASSWORD_FILE, CAIRN_PASSWORD, or a prompt when run on a terminal.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	g.register(root)
	root.AddCommand(
		newVersionCmd(g),
		newInitCmd(g),
		newKeyCmd(g),
		newForgetPinCmd(g),
		newBackupCmd(g),
		newRestoreCmd(g),
		newSnapshotsCmd(g),
		newTagCmd(g),
		newForgetCmd(g),
		newLsCmd(g),
		newDumpCmd(g),
		newFindCmd(g),
		newCatCmd(g),
		newCopyCmd(g),
		newDiffCmd(g),
		newStatsCmd(g),
		newVerifyCmd(g), newProofCmd(g), newVerifyProofCmd(),
		newPruneCmd(g),
		newRepairCmd(g),
		newJobCmd(g),
		newGenCmd(),
		newMountCmd(g),
	)
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	addExamples(root)
	registerCompletions(root, g)
	return root
}

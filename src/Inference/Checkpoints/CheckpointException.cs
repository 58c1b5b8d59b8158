namespace Service.Inference.Checkpoints;

/// <summary>A checkpoint directory that cannot be loaded; the message names the file and key.</summary>
public sealed class CheckpointException(string message) : Exception(message);

using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace ModelGen.Diagnostics
{
    /// <summary>
    /// Every ModelGen diagnostic, in one place. Ids: MG00xx memory, MG01xx usage, MG02xx sharding, MG03xx quantization, MG04xx shape.
    /// Each id has a section in docs/diagnostics.md.
    /// </summary>
    public static class Descriptors
    {
        /// <summary>Category of memory-budget diagnostics.</summary>
        public const string Memory = "ModelGen.Memory";

        /// <summary>Category of annotation-usage diagnostics.</summary>
        public const string Usage = "ModelGen.Usage";

        /// <summary>Category of sharding diagnostics.</summary>
        public const string Sharding = "ModelGen.Sharding";

        /// <summary>Category of quantization diagnostics.</summary>
        public const string Quantization = "ModelGen.Quantization";

        /// <summary>Category of shape diagnostics.</summary>
        public const string Shape = "ModelGen.Shape";

        private static readonly Dictionary<string, DiagnosticDescriptor> All = new();

        /// <summary>MG0001: a declared scenario needs more device memory than its budget.</summary>
        public static readonly DiagnosticDescriptor BudgetExceeded = Add(
            "MG0001", "Model exceeds its memory budget",
            "'{0}' needs {1} GB at seq {2} ({3}, batch {4}, {5}) and exceeds the {6} GB budget: {7}",
            Memory, DiagnosticSeverity.Warning,
            "The memory model's peak for this scenario is above the budget. The message lists the peak phase's breakdown; the diagnostic's properties carry every term.");

        /// <summary>MG0002: a declared scenario fits its budget (off by default; enable it in .editorconfig).</summary>
        public static readonly DiagnosticDescriptor BudgetFits = Add(
            "MG0002", "Model fits its memory budget",
            "'{0}' fits the {1} GB budget at seq {2} ({3}, batch {4}, {5}): needs {6} GB, {7} GB headroom; fits up to seq {8} at batch {4} and batch {9} at seq {2}",
            Memory, DiagnosticSeverity.Info,
            "Reports the headroom of a scenario that fits, and the largest sequence length and batch that still fit (each with the other held).",
            enabledByDefault: false);

        /// <summary>MG0003: the single changes that bring an exceeded scenario under its budget.</summary>
        public static readonly DiagnosticDescriptor BudgetRemedies = Add(
            "MG0003", "A single change fits the model in its budget",
            "'{0}' at seq {1} fits the {2} GB budget with any one of these changes: {3}",
            Memory, DiagnosticSeverity.Info,
            "Each remedy is one change (checkpointing, bfloat16, quantization, tensor parallel, ZeRO, optimizer offload, a smaller batch), computed by re-running the memory model, cheapest first, with the peak it gives; the cheapest that edits attributes only is offered as a code fix on MG0001.");

        /// <summary>MG0004: the catalog cards (and how many of each) a scenario fits on.</summary>
        public static readonly DiagnosticDescriptor FittingCards = Add(
            "MG0004", "Cards the scenario fits on",
            "'{0}' at seq {1} ({2}, batch {3}) fits on {4}",
            Memory, DiagnosticSeverity.Info,
            "For every card of the built-in catalog, the fewest devices (1, 2, 4 or 8) on which the scenario fits, spreading it the way the remedies do.");

        /// <summary>MG0005: no single change brings an exceeded scenario under its budget.</summary>
        public static readonly DiagnosticDescriptor NoSingleRemedy = Add(
            "MG0005", "No single change fits the model in its budget",
            "'{0}' at seq {1}: no single change fits the {2} GB budget; the largest savings: {3}",
            Memory, DiagnosticSeverity.Info,
            "Every single change was tried with the memory model and none is enough on its own; combine the largest savings, or use more devices (see MG0004).");

        /// <summary>MG0006: a size or a memory term does not fit 64-bit arithmetic.</summary>
        public static readonly DiagnosticDescriptor SizeOverflow = Add(
            "MG0006", "Too large to size",
            "'{0}' is too large to size: {1} (ModelGen counts bytes and elements in checked 64-bit integers, up to 8 EiB)",
            Memory, DiagnosticSeverity.Error,
            "Sizes and memory terms are computed with checked 64-bit integers; a product that does not fit is reported instead of wrapping into a wrong (even negative) number.");

        /// <summary>MG0101: the class carrying [Model] or [Layer] is not partial.</summary>
        public static readonly DiagnosticDescriptor NotPartial = Add(
            "MG0101", "Model and layer classes must be partial",
            "'{0}' must be declared partial so ModelGen can generate its module code",
            Usage, DiagnosticSeverity.Error,
            "The generator adds the constructor, registration and forward in another part of the class.");

        /// <summary>MG0102: a size names a member the config type does not have.</summary>
        public static readonly DiagnosticDescriptor UnknownConfigMember = Add(
            "MG0102", "Unknown config member",
            "'{0}' is not a property of config type '{1}'",
            Usage, DiagnosticSeverity.Error,
            "Sizes are names of integer properties of the config type given to [Model]/[Layer]; use nameof(Config.Member).");

        /// <summary>MG0103: a config member's default is not an integer known at compile time.</summary>
        public static readonly DiagnosticDescriptor ConfigValueUnknown = Add(
            "MG0103", "Config size not known at compile time",
            "Config member '{0}.{1}' needs an integer default the compiler can evaluate (a literal or arithmetic over other members)",
            Usage, DiagnosticSeverity.Error,
            "The analyzers check budgets against the config's defaults, so each size needs a constant default.");

        /// <summary>MG0104: a block property is not partial, has a setter, or is static.</summary>
        public static readonly DiagnosticDescriptor BlockNotPartialProperty = Add(
            "MG0104", "Block must be a partial get-only instance property",
            "Block '{0}' must be declared as a partial get-only instance property, e.g. 'partial Linear {0} {{ get; }}'",
            Usage, DiagnosticSeverity.Error,
            "The generator implements the property over a registered module field.");

        /// <summary>MG0105: a block property's type cannot hold the module the attribute asks for.</summary>
        public static readonly DiagnosticDescriptor BlockTypeMismatch = Add(
            "MG0105", "Block property type does not match its attribute",
            "Block '{0}' is declared as '{1}' but [{2}] creates '{3}'; declare it as '{3}' or as 'Module<Tensor, Tensor>'",
            Usage, DiagnosticSeverity.Error,
            "The generated field has the property's type, so the module must be assignable to it.");

        /// <summary>MG0106: a property carries more than one block attribute.</summary>
        public static readonly DiagnosticDescriptor SeveralBlockAttributes = Add(
            "MG0106", "More than one block attribute",
            "Block '{0}' has several block attributes ({1}); keep one",
            Usage, DiagnosticSeverity.Error,
            "Each property is exactly one block.");

        /// <summary>MG0107: the forward method is missing or has the wrong shape.</summary>
        public static readonly DiagnosticDescriptor ForwardMissing = Add(
            "MG0107", "Forward method missing",
            "'{0}' needs a method 'Tensor Forward(Tensor x)' that computes the layer's output from its blocks",
            Usage, DiagnosticSeverity.Error,
            "You write the forward math; the generator writes the module's forward around it (casts, checkpointing).");

        /// <summary>MG0108: the class is nested, generic, static, or already has a base class.</summary>
        public static readonly DiagnosticDescriptor UnsupportedClassShape = Add(
            "MG0108", "Unsupported class shape",
            "'{0}' cannot be generated: {1}",
            Usage, DiagnosticSeverity.Error,
            "Model and layer classes must be top-level, non-generic, non-static classes without a base class (the generator adds Module<Tensor, Tensor>).");

        /// <summary>MG0109: a stack or sublayer property's type is not a [Layer] class.</summary>
        public static readonly DiagnosticDescriptor NotALayer = Add(
            "MG0109", "Sublayer type is not a ModelGen layer",
            "Block '{0}' uses '{1}', which has no [Layer] attribute",
            Usage, DiagnosticSeverity.Error,
            "[Stack] needs ModuleList<TLayer> and [Sublayer] a property of type TLayer, where TLayer is a [Layer] partial class.");

        /// <summary>MG0110: [TiedTo] names no block of the layer, or a block whose weight shape differs.</summary>
        public static readonly DiagnosticDescriptor BadTie = Add(
            "MG0110", "Tied weight does not match",
            "Block '{0}' is tied to '{1}': {2}",
            Usage, DiagnosticSeverity.Error,
            "A tied block shares the weight of another block of the same layer; the two weights must have the same shape.");

        /// <summary>MG0111: a sublayer's config type differs from its parent's.</summary>
        public static readonly DiagnosticDescriptor ConfigMismatch = Add(
            "MG0111", "Sublayer config type differs",
            "Block '{0}' uses layer '{1}' whose config type is '{2}', but '{3}' is built from '{4}'",
            Usage, DiagnosticSeverity.Error,
            "A parent passes its config instance to the layers it builds, so both must use the same config type.");

        /// <summary>MG0112: an attribute argument is out of range (negative size, bad probability, bad group size…).</summary>
        public static readonly DiagnosticDescriptor BadArgument = Add(
            "MG0112", "Invalid attribute argument",
            "Block '{0}': {1}",
            Usage, DiagnosticSeverity.Error,
            "An attribute argument is outside the values the block accepts.");

        /// <summary>MG0113: two blocks of one layer map to the same state_dict key.</summary>
        public static readonly DiagnosticDescriptor DuplicateStateName = Add(
            "MG0113", "Duplicate state_dict key",
            "Blocks '{0}' and '{1}' of '{2}' both use the state_dict key '{3}'; give one of them another [StateName]",
            Usage, DiagnosticSeverity.Error,
            "Each block registers its parameters under its state_dict key, so keys must be unique within a layer.");

        /// <summary>MG0114: a [VramBudget] gives no size and the project sets no default.</summary>
        public static readonly DiagnosticDescriptor BudgetWithoutSize = Add(
            "MG0114", "Budget without a size",
            "[VramBudget] on '{0}' gives neither Gigabytes nor Gpu, and the project sets no default (MSBuild ModelGenBudgetGpu or ModelGenBudgetGigabytes, .editorconfig modelgen_budget_gpu or modelgen_budget_gigabytes)",
            Usage, DiagnosticSeverity.Error,
            "A budget needs device memory: a number of GB, a GPU from the catalog, or a project-level default.");

        /// <summary>MG0115: a GPU name that the catalog does not know.</summary>
        public static readonly DiagnosticDescriptor UnknownGpu = Add(
            "MG0115", "Unknown GPU",
            "'{0}' is not a GPU of the catalog; known GPUs: {1}",
            Usage, DiagnosticSeverity.Error,
            "Budgets name GPUs of ModelGen's built-in catalog; give the memory in GB for any other device.");

        /// <summary>MG0116: a [VramBudget] argument is out of range.</summary>
        public static readonly DiagnosticDescriptor BadScenario = Add(
            "MG0116", "Invalid budget argument",
            "[VramBudget] on '{0}': {1}",
            Usage, DiagnosticSeverity.Error,
            "Sequence length and batch must be at least 1 and the budget must not be negative.");

        /// <summary>MG0117: an inference budget sets something only training has (an optimizer, optimizer offload, ZeRO beyond stage 0 of weights).</summary>
        public static readonly DiagnosticDescriptor InferenceWithTrainingSetting = Add(
            "MG0117", "Training setting on an inference budget",
            "[VramBudget] on '{0}': {1} applies to training only and has no effect with Workload = Inference",
            Usage, DiagnosticSeverity.Warning,
            "Inference holds no gradients and no optimizer state, so Optimizer, OffloadOptimizer and ZeRO stages 1–2 change nothing; remove them or check a training budget.");

        /// <summary>MG0118: selective checkpointing of a layer that has no attention block.</summary>
        public static readonly DiagnosticDescriptor SelectiveWithoutAttention = Add(
            "MG0118", "Selective checkpointing without attention",
            "'{0}' asks for selective checkpointing, which recomputes the attention core, but it has no Attention block; use [Checkpoint] (full) or remove it",
            Usage, DiagnosticSeverity.Warning,
            "Selective checkpointing keeps every activation except the attention core's (Korthikanti et al. 2022, §4.2); a layer without attention keeps everything.");

        /// <summary>MG0119: a layer contains itself, directly or through other layers.</summary>
        public static readonly DiagnosticDescriptor RecursiveLayer = Add(
            "MG0119", "Layer contains itself",
            "'{0}' contains itself: {1}; a model must be a finite tree of layers",
            Usage, DiagnosticSeverity.Error,
            "Building such a layer would build its own parts forever; break the cycle of [Sublayer] and [Stack] properties.");

        /// <summary>MG0120: one class carries both [Model] and [Layer].</summary>
        public static readonly DiagnosticDescriptor ModelAndLayer = Add(
            "MG0120", "Both [Model] and [Layer]",
            "'{0}' has both [Model] and [Layer]; keep [Model] on the root of a model and [Layer] on its parts",
            Usage, DiagnosticSeverity.Error,
            "A [Model] is a layer that also carries budgets and a model description; one attribute says which the class is.");

        /// <summary>MG0121: the config type given to [Model]/[Layer] cannot hold sizes.</summary>
        public static readonly DiagnosticDescriptor BadConfigType = Add(
            "MG0121", "Invalid config type",
            "'{0}' cannot be the config type of '{1}': {2}",
            Usage, DiagnosticSeverity.Error,
            "The config is a record or class whose integer properties are the sizes, e.g. 'public sealed record LlamaConfig { public int Hidden { get; init; } = 4096; }'.");

        /// <summary>MG0122: a [StateName] that cannot be a state_dict key path (empty, an empty level).</summary>
        public static readonly DiagnosticDescriptor BadStateName = Add(
            "MG0122", "Invalid state_dict name",
            "Block '{0}': [StateName({1})] {2}",
            Usage, DiagnosticSeverity.Error,
            "A state name is one level of a state_dict key or a dotted path of levels (attention.self.query); every level needs text, so it cannot be empty, start or end with '.', or contain '..'.");

        /// <summary>MG0123: [VramBudget] on a layer, where nothing checks it.</summary>
        public static readonly DiagnosticDescriptor BudgetOnLayer = Add(
            "MG0123", "Budget on a layer",
            "[VramBudget] on '{0}' has no effect: budgets are checked for [Model] classes; move it to the model that uses this layer",
            Usage, DiagnosticSeverity.Error,
            "A budget is the memory of a whole model for a scenario, so it belongs on the [Model] class.");

        /// <summary>MG0124: a budget of NaN or infinite GB.</summary>
        public static readonly DiagnosticDescriptor NonFiniteBudget = Add(
            "MG0124", "Budget is not a finite number",
            "[VramBudget] on '{0}': {1} GB is not a finite number",
            Usage, DiagnosticSeverity.Error,
            "A budget is a number of GB (2^30 bytes) such as 24 or 79.6; NaN and infinities cannot be compared with a need.");

        /// <summary>MG0125: a user member with the name of a member ModelGen generates.</summary>
        public static readonly DiagnosticDescriptor ReservedMemberName = Add(
            "MG0125", "Member name taken by generated code",
            "'{0}' declares '{1}', which ModelGen generates ({2}); rename yours",
            Usage, DiagnosticSeverity.Error,
            "The generated part of a module declares StoragePrecision, CheckpointActivations, forward, DescribeLayer, CollectLayers and DescribeModel.");

        /// <summary>MG0126: a sublayer whose class cannot be generated as a module.</summary>
        public static readonly DiagnosticDescriptor SublayerNotGeneratable = Add(
            "MG0126", "Sublayer cannot be generated",
            "Block '{0}' uses '{1}', which cannot be generated as a module: {2}",
            Usage, DiagnosticSeverity.Error,
            "A parent constructs its sublayers with their generated constructors, so each must be a partial, top-level, non-generic class.");

        /// <summary>MG0127: a config member that generated code cannot read as a size.</summary>
        public static readonly DiagnosticDescriptor ConfigMemberNotUsable = Add(
            "MG0127", "Config member cannot be a size",
            "Config member '{0}.{1}' cannot be a size: {2}",
            Usage, DiagnosticSeverity.Error,
            "The generated constructor reads each size from the config instance, so a size is a readable integer (int or long) property or field.");

        /// <summary>MG0201: a sharded size is not divisible by the tensor-parallel degree.</summary>
        public static readonly DiagnosticDescriptor ShardNotDivisible = Add(
            "MG0201", "Sharded size not divisible by tensor parallel",
            "With TensorParallel = {0}, '{1}.{2}' ({3}) cannot be split evenly: {4} is not divisible by {0}",
            Sharding, DiagnosticSeverity.Error,
            "Tensor parallelism gives every rank an equal slice of the sharded dimension (Megatron-LM, Shoeybi et al. 2019, §3).");

        /// <summary>MG0202: [Shard] with a style the block does not support.</summary>
        public static readonly DiagnosticDescriptor ShardNotSupported = Add(
            "MG0202", "Block cannot be sharded this way",
            "Block '{0}' is {1} and cannot be sharded {2}; {3}",
            Sharding, DiagnosticSeverity.Error,
            "Linear takes Column or Row, Embedding takes Vocab, Attention and FeedForward take Column (Megatron-style head / inner split); norms, dropout and sublayers are not sharded.");

        /// <summary>MG0203: a parallel degree below 1.</summary>
        public static readonly DiagnosticDescriptor BadParallelDegree = Add(
            "MG0203", "Parallel degree below 1",
            "[VramBudget] on '{0}': {1} = {2} must be at least 1",
            Sharding, DiagnosticSeverity.Error,
            "TensorParallel and DataParallel count ranks; 1 means not parallel.");

        /// <summary>MG0204: a ZeRO stage outside 0–3.</summary>
        public static readonly DiagnosticDescriptor BadZeroStage = Add(
            "MG0204", "ZeRO stage out of range",
            "[VramBudget] on '{0}': ZeroStage = {1} is not a ZeRO stage; use 0 (off), 1 (optimizer state), 2 (+ gradients) or 3 (+ weights)",
            Sharding, DiagnosticSeverity.Error,
            "ZeRO has three stages (Rajbhandari et al. 2020, §5).");

        /// <summary>MG0205: ZeRO without data parallelism has nothing to shard over.</summary>
        public static readonly DiagnosticDescriptor ZeroWithoutDataParallel = Add(
            "MG0205", "ZeRO without data parallel ranks",
            "[VramBudget] on '{0}': ZeroStage = {1} has no effect with DataParallel = 1; ZeRO splits state across data-parallel ranks",
            Sharding, DiagnosticSeverity.Warning,
            "ZeRO divides optimizer state, gradients and weights by the number of data-parallel ranks; with one rank nothing changes.");

        /// <summary>MG0206: tensor parallel ranks but no sharded block.</summary>
        public static readonly DiagnosticDescriptor TensorParallelWithoutShards = Add(
            "MG0206", "Tensor parallel splits nothing",
            "[VramBudget] on '{0}': TensorParallel = {1}, but no block of the model has [Shard], so every rank holds the whole model",
            Sharding, DiagnosticSeverity.Warning,
            "Only blocks marked [Shard] are split across tensor-parallel ranks.");

        /// <summary>MG0207: a budget sets a parallel value the model's [ParallelPlan] does not run.</summary>
        public static readonly DiagnosticDescriptor BudgetContradictsPlan = Add(
            "MG0207", "Budget contradicts the parallel plan",
            "[VramBudget] on '{0}' describes a plan the program does not run: {1}; remove these settings from the budget (it takes them from [ParallelPlan]) or change the plan",
            Sharding, DiagnosticSeverity.Error,
            "With [ParallelPlan] on the model, the plan is what the training set-up runs; a budget estimating other parallel settings would report memory for a program that does not exist.");

        // ---- tpgen (MG0208–MG0215): what the generated tensor-parallel constructor refuses (ModelGen.Memory.TensorParallelSupport) ----

        /// <summary>MG0208: a sharded block whose declared type cannot hold its tensor-parallel module.</summary>
        public static readonly DiagnosticDescriptor ShardedTypeCannotHold = Add(
            "MG0208", "Sharded block declared with a type its tensor-parallel module is not",
            "With TensorParallel = {0}, '{1}.{2}' cannot be built sharded: {3}",
            Sharding, DiagnosticSeverity.Error,
            "A [Shard] block becomes a ModelGen.Parallel module on each rank (ColumnParallelLinear, RowParallelLinear, VocabParallelEmbedding, TensorParallelAttention, TensorParallelFeedForward, VocabParallelHead), which derive only from Module<Tensor, Tensor>; the generated constructor refuses a degree above 1 for a property declared as the plain module's type.");

        /// <summary>MG0209: a block that cannot run on sequence shards in a sequence-parallel plan.</summary>
        public static readonly DiagnosticDescriptor SequenceParallelUnsupported = Add(
            "MG0209", "Block cannot run with sequence parallelism",
            "With SequenceParallel at TensorParallel = {0}, '{1}.{2}' cannot run: {3}",
            Sharding, DiagnosticSeverity.Error,
            "With sequence parallelism the activations between tensor-parallel regions are split along the sequence (Korthikanti et al. 2022, §4.2.2): every weight used there must be sharded or be a norm whose gradient the group sums, and every region must be entered and left in pairs; the generated constructor refuses anything else.");

        // ---- tpdec (MG0210–MG0215): tensor-parallel plans the generated code cannot run as estimated ----

        /// <summary>MG0210: sequence parallelism over a sequence the degree does not divide.</summary>
        public static readonly DiagnosticDescriptor SequenceShardsUneven = Add(
            "MG0210", "Sequence not divisible by tensor parallel under sequence parallelism",
            "With SequenceParallel at TensorParallel = {0}, the [VramBudget] on '{1}' has sequence length {2}, which is not divisible by {0}: every rank holds an equal sequence shard; use a multiple of {0}",
            Sharding, DiagnosticSeverity.Error,
            "Sequence parallelism splits the activations between tensor-parallel regions along the sequence into equal shards (Korthikanti et al. 2022, §4.2.2); the first scatter refuses a sequence the degree does not divide.");

        /// <summary>MG0211: an inference budget estimated with sequence parallelism, which cached decoding does not run.</summary>
        public static readonly DiagnosticDescriptor SequenceParallelDecoding = Add(
            "MG0211", "Decoding does not run sequence parallel",
            "The inference [VramBudget] on '{0}' is estimated with SequenceParallel at TensorParallel = {1}, but cached decoding runs whole sequences (a step is one token): the generated decoder refuses sequence-parallel options, so build it for generation with sequenceParallel: false and estimate inference without SequenceParallel",
            Sharding, DiagnosticSeverity.Warning,
            "A decoding step appends one token, which cannot be split over the ranks; TensorParallelAttention's cached forward runs with the whole sequence on every rank and its KV cache holds the rank's heads (docs/tensor-parallel.md).");

        // ---- tpquant (MG0212–MG0219): sharded and quantized blocks ----

        /// <summary>MG0212: a quantized row-parallel slice that leaves partial quantization groups on a rank.</summary>
        public static readonly DiagnosticDescriptor QuantizedSliceUneven = Add(
            "MG0212", "Quantization groups do not fit a rank's slice",
            "With TensorParallel = {0}, '{1}.{2}' cannot be built sharded and quantized: {3}",
            Sharding, DiagnosticSeverity.Error,
            "Each rank quantizes only its slice of a sharded projection (QuantizedParallelLinear); a row-parallel slice (a row-parallel Linear, an Attention's o_proj, a FeedForward's down_proj) holds in/t input features, and int4 groups and NF4 blocks run along the input features, so the group size must divide in/t; the generated constructor refuses the degree otherwise.");

        /// <summary>MG0213: a [LoRA] target that is a tensor-parallel projection at the scenario's degree.</summary>
        public static readonly DiagnosticDescriptor AdaptedSliceUnsupported = Add(
            "MG0213", "LoRA adapters do not attach to tensor-parallel projections",
            "With TensorParallel = {0}, '{1}.{2}' cannot carry LoRA adapters: {3}",
            Sharding, DiagnosticSeverity.Error,
            "LoRA attaches to whole Linear and QuantizedLinear layers; a sharded Attention, FeedForward or Linear is built from column- and row-parallel slices, which have no adapter form yet, so the generated model would refuse the [LoRA] scope at start-up. The remedies and card fits never propose such a degree.");

        /// <summary>MG0301: [Quantize] on a block that cannot be quantized.</summary>
        public static readonly DiagnosticDescriptor QuantizeNotSupported = Add(
            "MG0301", "Block cannot be quantized",
            "Block '{0}' is {1}; only Linear, Attention and FeedForward blocks can be quantized",
            Quantization, DiagnosticSeverity.Error,
            "Weight-only quantization replaces a Linear (or the projections of an Attention or FeedForward block) with QuantizedLinear; other blocks keep their weights.");

        /// <summary>MG0302: a group size the quantization format does not support.</summary>
        public static readonly DiagnosticDescriptor BadGroupSize = Add(
            "MG0302", "Unsupported quantization group size",
            "Block '{0}': {1} does not support GroupSize = {2}; {3}",
            Quantization, DiagnosticSeverity.Error,
            "int4 uses groups of 32, 64 or 128; NF4 blocks of 64 (Dettmers et al. 2023, §3); int8 has one scale per output channel.");

        /// <summary>MG0303: the group size does not divide the input features.</summary>
        public static readonly DiagnosticDescriptor GroupSizeNotDividing = Add(
            "MG0303", "Group size does not divide the input features",
            "Block '{0}': GroupSize = {1} does not divide {2}",
            Quantization, DiagnosticSeverity.Error,
            "Groups run along a weight row (the input features), so In must be a multiple of the group size.");

        /// <summary>MG0304: a tied weight that is quantized.</summary>
        public static readonly DiagnosticDescriptor QuantizedTie = Add(
            "MG0304", "Tied weight cannot be quantized",
            "Block '{0}' is tied to '{1}', and {2} is quantized; one shared tensor cannot be both full precision and quantized",
            Quantization, DiagnosticSeverity.Error,
            "A tied block uses the very tensor of another block; remove [Quantize] or [TiedTo].");

        /// <summary>MG0305: DoubleQuant on a format other than NF4.</summary>
        public static readonly DiagnosticDescriptor DoubleQuantNotNf4 = Add(
            "MG0305", "DoubleQuant needs NF4",
            "Block '{0}': DoubleQuant applies to NF4 only and is ignored for {1}",
            Quantization, DiagnosticSeverity.Warning,
            "Double quantization compresses NF4's per-block absmax constants (Dettmers et al. 2023, §3).");

        /// <summary>MG0306: [LoRA] settings the runtime refuses.</summary>
        public static readonly DiagnosticDescriptor BadLora = Add(
            "MG0306", "Invalid LoRA settings",
            "[LoRA] on '{0}': {1}",
            Quantization, DiagnosticSeverity.Error,
            "The rank must be at least 1, Alpha positive and finite, Dropout in [0, 1), and each target a non-empty name (docs/lora.md).");

        // quant (issue 13): MG0307–MG0315.

        /// <summary>MG0307: [Quantize] and [Shard] together on an Attention or FeedForward block. Retired (issue 10): such a block is built
        /// with QuantizedParallelLinear projections, so this is no longer reported; the id stays reserved (docs/diagnostics.md).</summary>
        public static readonly DiagnosticDescriptor QuantizedParallelBlock = Add(
            "MG0307", "Quantized block cannot be sharded",
            "Block '{0}' is {1} with both [Quantize] and [Shard]; its tensor-parallel form keeps dense projections, so quantize it or shard it",
            Quantization, DiagnosticSeverity.Error,
            "Tensor-parallel Attention and FeedForward split dense Linear projections across ranks; quantized projections are built whole (docs/quantization.md).");

        /// <summary>MG0308: [LoRA] on a property whose block has no projections.</summary>
        public static readonly DiagnosticDescriptor LoraOnBlockWithoutProjections = Add(
            "MG0308", "LoRA needs a block with projections",
            "[LoRA] on '{0}': {1} has no Linear projection to adapt; put it on a Linear, Attention or FeedForward block, or on the class",
            Quantization, DiagnosticSeverity.Error,
            "Adapters attach to Linear / QuantizedLinear projections: a [Linear] block itself, q/k/v/o_proj of an Attention, gate/up/down_proj of a FeedForward (docs/lora.md).");

        /// <summary>MG0309: a target of a property's [LoRA] that the block does not have.</summary>
        public static readonly DiagnosticDescriptor LoraTargetNotInBlock = Add(
            "MG0309", "LoRA target is not a projection of the block",
            "[LoRA] on '{0}': '{1}' is not one of its projections ({2})",
            Quantization, DiagnosticSeverity.Error,
            "On a property, [LoRA]'s targets choose among that block's own projections; leave them out to adapt every projection of the block (docs/lora.md).");

        /// <summary>MG0401: query heads not divisible by key/value heads.</summary>
        public static readonly DiagnosticDescriptor HeadsNotDivisibleByKvHeads = Add(
            "MG0401", "Heads not divisible by KV heads",
            "Block '{0}': {1} is not divisible by {2}",
            Shape, DiagnosticSeverity.Error,
            "Grouped-query attention shares each key/value head among Heads / KvHeads query heads (Ainslie et al. 2023, §2).");

        /// <summary>MG0402: hidden size not divisible by heads.</summary>
        public static readonly DiagnosticDescriptor HiddenNotDivisibleByHeads = Add(
            "MG0402", "Hidden size not divisible by heads",
            "Block '{0}': {1} is not divisible by {2}",
            Shape, DiagnosticSeverity.Error,
            "Each head has Hidden / Heads dimensions.");

        /// <summary>MG0403: a size below 1.</summary>
        public static readonly DiagnosticDescriptor NonPositiveSize = Add(
            "MG0403", "Size must be positive",
            "Block '{0}': {1} must be at least 1",
            Shape, DiagnosticSeverity.Error,
            "Every feature count, head count, vocabulary size and repeat count is at least 1.");

        /// <summary>MG0404: rotary embedding with an odd head dimension.</summary>
        public static readonly DiagnosticDescriptor RotaryOddHeadDim = Add(
            "MG0404", "Rotary embedding needs an even head dimension",
            "Block '{0}': rotary embedding rotates pairs of features, but the head dimension Hidden / Heads = {1} is odd",
            Shape, DiagnosticSeverity.Error,
            "RoPE rotates consecutive feature pairs of each head (Su et al. 2021, §3.2).");

        // Forward signatures (MG0128-MG0135, docs/attributes.md "Forward").

        /// <summary>MG0128: a Forward parameter the generated module cannot pass.</summary>
        public static readonly DiagnosticDescriptor ForwardParameterUnsupported = Add(
            "MG0128", "Forward parameter not supported",
            "'{0}.{1}': parameter '{2}' {3}",
            Usage, DiagnosticSeverity.Error,
            "The generated module's forward passes each input on as is: every parameter is a Tensor or Tensor? passed by value; an optional one defaults to null.");

        /// <summary>MG0129: more inputs than TorchSharp's Module types take.</summary>
        public static readonly DiagnosticDescriptor ForwardTooManyInputs = Add(
            "MG0129", "Forward has too many inputs",
            "'{0}.{1}' has {2} tensor inputs; TorchSharp's Module<T1, …, T6, TResult> takes at most 6: pass the rest in a record or stack them in one tensor",
            Usage, DiagnosticSeverity.Error,
            "The generated module derives from TorchSharp's Module<T1, …, TResult>, which exists for one to six inputs.");

        /// <summary>MG0130: a generic or static Forward.</summary>
        public static readonly DiagnosticDescriptor ForwardShapeUnsupported = Add(
            "MG0130", "Forward must be an instance method that is not generic",
            "'{0}.{1}' is {2}; the generated forward calls it on the module with fixed tensor types",
            Usage, DiagnosticSeverity.Error,
            "The module's forward overrides TorchSharp's, whose types are fixed when the class is generated.");

        /// <summary>MG0131: a Forward result the generated forward cannot move out of its dispose scope.</summary>
        public static readonly DiagnosticDescriptor ForwardResultUnsupported = Add(
            "MG0131", "Forward result not supported",
            "'{0}.{1}' returns '{2}': {3}",
            Usage, DiagnosticSeverity.Error,
            "The result is a Tensor, a value tuple of 2 to 7 tensors, or a record whose tensor members are Tensor or Tensor? properties with a setter or init.");

        /// <summary>MG0132: several Forward methods, none of them the classic one.</summary>
        public static readonly DiagnosticDescriptor ForwardAmbiguous = Add(
            "MG0132", "Several Forward methods",
            "'{0}' declares {1} methods named Forward; the module's type follows one: keep one, or rename the others",
            Usage, DiagnosticSeverity.Error,
            "With Tensor Forward(Tensor) present that one is the module's forward; otherwise exactly one Forward is.");

        /// <summary>MG0133: an [Input] that does not give a size.</summary>
        public static readonly DiagnosticDescriptor BadInputSize = Add(
            "MG0133", "[Input] does not give a size",
            "'{0}.{1}': [Input] on '{2}': {3}",
            Usage, DiagnosticSeverity.Error,
            "InputShape.Hidden needs Width (a config member or a literal); ElementBytes is 0 (the default) or 1, 2, 4 or 8.");

        /// <summary>MG0134: an input the memory model does not count.</summary>
        public static readonly DiagnosticDescriptor InputSizeUndeclared = Add(
            "MG0134", "Forward input not sized",
            "'{0}.{1}': the memory model does not count input '{2}' (an activation checkpoint keeps it); declare its size with [Input(InputShape.…)]",
            Memory, DiagnosticSeverity.Warning,
            "The memory model sizes an input only when it is declared, never by guessing from its name; the first input is sized from the layer's first block.");

        // fwdan (#12): shape errors and unanalyzed ops found by the Forward-body analysis (src/Generators/Parsing/ForwardAnalysis, reported by src/Analyzers/ForwardAnalysis; docs/forward-analysis.md).

        /// <summary>MG0501: adding or subtracting tensors whose shapes do not broadcast.</summary>
        public static readonly DiagnosticDescriptor AddShapeMismatch = Add(
            "MG0501", "Added tensors have incompatible shapes",
            "'{0}' of {1} and {2}: dimensions {3} and {4} neither match nor broadcast",
            Shape, DiagnosticSeverity.Error,
            "Elementwise ops broadcast from the last dimension: each pair must be equal or 1. Shapes are written in the config's sizes at their default values.");

        /// <summary>MG0502: multiplying or dividing tensors elementwise whose shapes do not broadcast.</summary>
        public static readonly DiagnosticDescriptor MultiplyShapeMismatch = Add(
            "MG0502", "Multiplied tensors have incompatible shapes",
            "'{0}' of {1} and {2}: dimensions {3} and {4} neither match nor broadcast",
            Shape, DiagnosticSeverity.Error,
            "Elementwise ops broadcast from the last dimension: each pair must be equal or 1.");

        /// <summary>MG0503: a matrix product whose inner dimensions differ.</summary>
        public static readonly DiagnosticDescriptor MatMulShapeMismatch = Add(
            "MG0503", "Matrix product of incompatible shapes",
            "'{0}' of {1} and {2}: {3} and {4} must be equal",
            Shape, DiagnosticSeverity.Error,
            "matmul multiplies the last dimension of the left operand with the second-to-last of the right one; batch dimensions broadcast.");

        /// <summary>MG0504: a view or reshape that changes the element count.</summary>
        public static readonly DiagnosticDescriptor ReshapeElementCount = Add(
            "MG0504", "Reshape changes the number of elements",
            "'{0}' of {1} to {2}: {3} elements cannot become {4}",
            Shape, DiagnosticSeverity.Error,
            "view and reshape keep every element; the product of the new sizes must equal the old one.");

        /// <summary>MG0505: a block receives a tensor of the wrong width.</summary>
        public static readonly DiagnosticDescriptor BlockWidthMismatch = Add(
            "MG0505", "Block fed the wrong width",
            "Block '{0}' expects a last dimension of {1} but receives {2}",
            Shape, DiagnosticSeverity.Error,
            "Each block reads the last dimension its attribute declares (Linear in-features, the hidden size of norms, attention and feed-forward, a sublayer's first block).");

        /// <summary>MG0506: concatenated tensors that differ outside the concatenated dimension.</summary>
        public static readonly DiagnosticDescriptor CatShapeMismatch = Add(
            "MG0506", "Concatenated tensors have incompatible shapes",
            "'{0}' along dimension {1}: {2} and {3} must match in every other dimension",
            Shape, DiagnosticSeverity.Error,
            "cat joins tensors of the same rank along one dimension; all other dimensions must be equal.");

        /// <summary>MG0507: a dimension index out of range.</summary>
        public static readonly DiagnosticDescriptor DimensionOutOfRange = Add(
            "MG0507", "Dimension out of range",
            "'{0}': dimension {1} is out of range for {2} (rank {3})",
            Shape, DiagnosticSeverity.Error,
            "A dimension index of a rank-r tensor lies in [-r, r-1].");

        /// <summary>MG0508: a mask that does not broadcast to the tensor it selects in.</summary>
        public static readonly DiagnosticDescriptor MaskShapeMismatch = Add(
            "MG0508", "Mask does not broadcast",
            "'{0}': the mask {1} does not broadcast to {2}",
            Shape, DiagnosticSeverity.Error,
            "masked_fill and where broadcast the mask against the tensor.");

        /// <summary>MG0539: an op of a Forward body the analysis does not know; its memory is estimated conservatively.</summary>
        public static readonly DiagnosticDescriptor ForwardOpEstimated = Add(
            "MG0539", "Forward op not analyzed",
            "'{0}' in '{1}.Forward' is not analyzed: the memory estimate assumes it keeps every tensor operand and its result ({2})",
            Memory, DiagnosticSeverity.Info,
            "The Forward-body analysis knows TorchSharp's common ops and ModelGen's blocks (docs/forward-analysis.md). Any other call returning a tensor is counted conservatively, never as zero.");

        // Block semantics (helper "blocks": MG0136–MG0145, MG0540–MG0579).

        /// <summary>MG0136: [Head] on a block that is not a [Linear].</summary>
        public static readonly DiagnosticDescriptor HeadNotLinear = Add(
            "MG0136", "[Head] applies to a [Linear] block",
            "Block '{0}': [Head] says which loss follows a Linear output block, but '{0}' is a [{1}]",
            Usage, DiagnosticSeverity.Error,
            "A head is the Linear that produces the logits the loss reads (an LM head or a classifier) or a final projection without a loss.");

        /// <summary>MG0540: a budget's sequence length is beyond the model's learned position table.</summary>
        public static readonly DiagnosticDescriptor SequenceBeyondPositions = Add(
            "MG0540", "Sequence length beyond the learned position table",
            "{0}; lower SequenceLength to at most {1} or enlarge the table",
            Memory, DiagnosticSeverity.Error,
            "A learned position table ([Embedding(…, Role = EmbeddingRole.Positions)]) has one row per position: the model cannot run longer sequences, so the memory of one is not estimated.");

        // Mixed precision and Forward loops (helper "amp": MG0137–MG0145, MG0571–MG0579; docs/precision.md, docs/forward-analysis.md).

        /// <summary>MG0137: a [Precision(…, Compute = …)] that cannot run.</summary>
        public static readonly DiagnosticDescriptor BadComputePrecision = Add(
            "MG0137", "Mixed precision needs fp32 parameters and a 16-bit compute dtype",
            "'{0}': {1}",
            Usage, DiagnosticSeverity.Error,
            "[Precision(DType.Float32, Compute = DType.BFloat16 or DType.Float16)] on a layer or model class keeps fp32 parameters and runs its Linear blocks in 16 bits (docs/precision.md). For 16-bit parameters write [Precision(DType.BFloat16)] alone.");

        /// <summary>MG0138: a block that a mixed-precision layer cannot run.</summary>
        public static readonly DiagnosticDescriptor BlockNotAutocast = Add(
            "MG0138", "Block cannot run under mixed precision",
            "Block '{0}' of '{1}' cannot run under [Precision(…, Compute = {2})]: {3}",
            Usage, DiagnosticSeverity.Error,
            "A mixed-precision layer runs its Linear blocks as ModelGen.AutocastLinear and its norms, embeddings and dropout in fp32 (docs/precision.md); other blocks have no mixed-precision form yet.");

        /// <summary>MG0571: a loop of a Forward body whose trip count is not known at compile time.</summary>
        public static readonly DiagnosticDescriptor ForwardLoopUncounted = Add(
            "MG0571", "Forward loop counted once",
            "'{0}' in '{1}.Forward' runs a number of times not known at compile time ({2}): the memory estimate counts its body once",
            Memory, DiagnosticSeverity.Warning,
            "A for loop whose bound is a literal, a constant, a config member or a stack's Count multiplies what its body saves by its trip count; any other loop is counted once (docs/forward-analysis.md, Loops).");

        /// <summary>MG0572: a sublayer or stack called inside a counted loop of a Forward body.</summary>
        public static readonly DiagnosticDescriptor ForwardLayerInLoop = Add(
            "MG0572", "Sublayer in a Forward loop counted once",
            "'{0}' is called inside a loop of {1} repeats in '{2}.Forward': the memory estimate walks it once",
            Memory, DiagnosticSeverity.Warning,
            "A counted loop multiplies what its ops and primitive blocks save; a sublayer or stack called in it (other than a stack in its own loop) is walked once, as a sublayer called twice is (docs/forward-analysis.md, Loops).");

        // Mixture of experts (helper "moe": MG0541–MG0555; docs/moe.md).

        /// <summary>MG0541: [MixtureOfExperts] routes each token to more experts than it has.</summary>
        public static readonly DiagnosticDescriptor TopKExceedsExperts = Add(
            "MG0541", "Top-k exceeds the number of experts",
            "Block '{0}': {1} routes each token to more experts than the {2} there are",
            Shape, DiagnosticSeverity.Error,
            "Top-k routing picks k distinct experts per token, so k is at most the number of experts (Mixtral: 2 of 8).");

        /// <summary>MG0542: [MixtureOfExperts] with fewer than one expert, or a top-k below 1.</summary>
        public static readonly DiagnosticDescriptor ExpertCountNotPositive = Add(
            "MG0542", "A mixture of experts needs at least one expert and a top-k of at least 1",
            "Block '{0}': {1} must be at least 1",
            Shape, DiagnosticSeverity.Error,
            "A mixture of experts has at least one expert, and each token runs through at least one of them.");

        /// <summary>MG0543: a capacity factor that is negative, NaN or infinite.</summary>
        public static readonly DiagnosticDescriptor BadCapacityFactor = Add(
            "MG0543", "Capacity factor must be 0 or positive and finite",
            "Block '{0}': CapacityFactor = {1} must be 0 (dropless) or a positive finite number",
            Usage, DiagnosticSeverity.Error,
            "CapacityFactor 0 routes every token to all of its top-k experts; a positive factor caps each expert at ceil(factor · tokens · k / experts) rows per forward.");

        /// <summary>MG0544: a capacity factor below 1 drops routes even when the router balances perfectly.</summary>
        public static readonly DiagnosticDescriptor CapacityDropsBalancedRoutes = Add(
            "MG0544", "Capacity factor below 1 drops routes even when the load is balanced",
            "Block '{0}': CapacityFactor = {1} leaves room for {2} % of the routes even when every expert gets the same share; use at least 1 (Switch Transformer trains with 1.25), or 0 for dropless",
            Usage, DiagnosticSeverity.Warning,
            "With capacity C = ceil(f · T · k / E), the experts together take at most E · C ≈ f · T · k of the T · k routes: below 1 some routes are always dropped.");
        // Encoder–decoder blocks (helper "t5": MG0556–MG0570; docs/encoder-decoder.md).

        /// <summary>MG0556: a [CrossAttention] block in a layer whose Forward takes one tensor, so no encoder output can reach it.</summary>
        public static readonly DiagnosticDescriptor CrossAttentionWithoutMemory = Add(
            "MG0556", "Cross-attention needs the encoder output as a second Forward input",
            "'{0}' has the cross-attention block '{1}', but '{0}.{2}' takes one tensor: add the encoder output as a second input (Tensor {2}(Tensor x, [Input(InputShape.Hidden, Width = …)] Tensor memory)) and call '{1}.call(x, memory)'",
            Usage, DiagnosticSeverity.Error,
            "Cross-attention reads keys and values from an encoder output that comes from outside the layer; the layer's Forward passes it in as a second tensor.");

        /// <summary>MG0557: a relative position bias with too few buckets to have one exact offset.</summary>
        public static readonly DiagnosticDescriptor RelativeBucketsTooFew = Add(
            "MG0557", "Too few relative position buckets",
            "Block '{0}': Buckets = {1} is too few for {2} buckets; use at least {3} (T5 uses 32)",
            Usage, DiagnosticSeverity.Error,
            "Half of a side's buckets are exact offsets, the rest log-spaced; two-sided buckets split them by direction, so at least 4 are needed two-sided and 2 one-sided.");

        /// <summary>MG0558: MaxDistance not beyond the exact offsets of the bias buckets.</summary>
        public static readonly DiagnosticDescriptor RelativeMaxDistanceTooSmall = Add(
            "MG0558", "Relative position MaxDistance too small",
            "Block '{0}': MaxDistance = {1} must exceed the {2} exact offsets of {3} buckets (T5 uses 128 with 32 buckets)",
            Usage, DiagnosticSeverity.Error,
            "The log-spaced buckets span the offsets from the last exact one to MaxDistance; a MaxDistance at or below the exact offsets leaves them no range.");

        /// <summary>MG0559: a [CrossAttention] or [RelativeAttention] size or probability out of range.</summary>
        public static readonly DiagnosticDescriptor EncoderDecoderBadSize = Add(
            "MG0559", "Invalid attention size",
            "Block '{0}' ([{1}]): {2}",
            Shape, DiagnosticSeverity.Error,
            "Hidden and Heads are positive, Heads divides Hidden, and Dropout lies in [0, 1).");

        // ---- tpplan (MG0220–MG0229): the loss of a vocab-parallel head in the generated CreateTraining ----

        /// <summary>MG0220: a loss passed to CreateTraining of a plan that splits the vocabulary without GatheredLogits.</summary>
        public static readonly DiagnosticDescriptor GatheredLogitsNotPlanned = Add(
            "MG0220", "A loss of its own gathers the full logits on every rank",
            "'{0}.CreateTraining' is given a loss, but the [ParallelPlan] of '{0}' splits the vocabulary over {1} tensor-parallel ranks: that loss reads all {2} logits, gathered on every rank, which adds {3} that the estimate does not count, and CreateTraining refuses it at start-up; leave out the loss to train on the vocab-parallel cross-entropy, or declare [ParallelPlan(..., GatheredLogits = true)] so the estimate counts the gathered logits",
            Sharding, DiagnosticSeverity.Error,
            "A vocab-parallel head gives each rank V/t logits, and the generated CreateTraining trains on the vocab-parallel cross-entropy (Shoeybi et al. 2019, §3), as the plan's estimate counts. A loss of the user's own needs all V logits, so the head all-gathers batch × sequence × V logits on every rank, with their fp32 copy, log-probabilities and gradient; the plan must declare it (GatheredLogits) for the estimate to be what runs.");

        /// <summary>MG0221: GatheredLogits on a plan whose model has no vocab-parallel head at its tensor-parallel degree.</summary>
        public static readonly DiagnosticDescriptor GatheredLogitsWithoutVocabShards = Add(
            "MG0221", "GatheredLogits has no effect",
            "[ParallelPlan(GatheredLogits = true)] on '{0}' has no effect: {1}; the loss already sees all the logits, so remove GatheredLogits",
            Sharding, DiagnosticSeverity.Warning,
            "GatheredLogits declares that the loss reads the whole vocabulary of a head that tensor parallelism splits; without such a head, or at TensorParallel = 1, every rank already holds all the logits.");

        /// <summary>The descriptor of <paramref name="id"/>.</summary>
        public static DiagnosticDescriptor ById(string id) => All[id];

        /// <summary>Every descriptor, for analyzers' SupportedDiagnostics.</summary>
        public static IEnumerable<DiagnosticDescriptor> Every => All.Values;

        private static DiagnosticDescriptor Add(string id, string title, string message, string category, DiagnosticSeverity severity, string description, bool enabledByDefault = true)
        {
            var descriptor = new DiagnosticDescriptor(id, title, message, category, severity, enabledByDefault, description, HelpLink(id));
            All.Add(id, descriptor);
            return descriptor;
        }

        private static string HelpLink(string id) => "docs/diagnostics.md#" + id.ToLowerInvariant();
    }
}

# The simulator's container image: kepler-sim and the scenario library, nothing else. One image runs every shard
# of a swarm (deploy/k8s/swarm-job.yaml) and merges their results. Build from the repository root:
#   docker build -f deploy/sim.Dockerfile -t kepler-sim:dev .
# docs/SWARM.md has the whole procedure.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Only what the simulator builds from (the build props, core and sim), so node or UI changes reuse the layer cache.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY core/ core/
COPY sim/ sim/
RUN dotnet publish sim/KeplerSim.Sim -c Release -o /opt/kepler-sim

FROM mcr.microsoft.com/dotnet/runtime:10.0
COPY --from=build /opt/kepler-sim /opt/kepler-sim
# Scenario paths in results and replay commands are relative to the working directory (scenarios/fast/x.yaml),
# exactly as in a checkout, so a replay command printed by a pod runs unchanged from the repository root.
WORKDIR /work
COPY scenarios/ scenarios/
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
ENTRYPOINT ["dotnet", "/opt/kepler-sim/kepler-sim.dll"]
CMD ["--help"]

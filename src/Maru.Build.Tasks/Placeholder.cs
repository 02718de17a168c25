namespace Maru.Build.Tasks;
